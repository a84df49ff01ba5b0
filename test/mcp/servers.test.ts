// What a server's answers become for the model (size limit, kinds of content), and a server that
// keeps failing: logged once, retried with backoff, its state and reason reported.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { McpManager } from '../../src/mcp/manager.ts';
import { toolOutput } from '../../src/mcp/tool-result.ts';
import { until } from '../support/team-script.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-mcp-servers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tool results', () => {
  it('cut a long result at the limit and say so', () => {
    const out = toolOutput({ content: [{ type: 'text', text: 'x'.repeat(5000) }] }, 1000);
    expect(out.content.length).toBeLessThan(1100);
    expect(out.content).toContain('[truncated: the result had 5000 characters]');
    expect(out.truncated).toBe(true);
  });

  it('keep structured content beside the text when both fit, name binary parts', () => {
    const out = toolOutput(
      {
        content: [
          { type: 'text', text: 'sunny' },
          { type: 'image', data: 'AAAA', mimeType: 'image/png' },
          { type: 'resource', resource: { uri: 'file:///a.txt', text: 'A text' } },
        ],
        structuredContent: { sky: 'sunny' },
      },
      1000,
    );
    expect(out.structured).toEqual({ sky: 'sunny' });
    expect(out.content).toBe('sunny\n[image: image/png, 3 bytes, not shown]\n[resource file:///a.txt]\nA text');
  });

  it('turn an error result into a thrown error with its text', () => {
    expect(() => toolOutput({ isError: true, content: [{ type: 'text', text: 'no such table' }] }, 1000)).toThrow(
      'no such table',
    );
  });
});

describe('a server that cannot start', () => {
  it('is logged once, retried with backoff, and reported with the reason', async () => {
    const attempts = join(dir, 'attempts');
    const warnings: string[] = [];
    const manager = await McpManager.start(
      [
        {
          name: 'broken',
          transport: {
            kind: 'stdio',
            command: process.execPath,
            args: [
              '-e',
              `require('fs').appendFileSync(${JSON.stringify(attempts)}, 'x'); console.error('bad config'); process.exit(2)`,
            ],
            env: {},
          },
          agents: ['researcher'],
        },
      ],
      { callTimeoutMs: 1000, maxResultChars: 1000, connectTimeoutMs: 5000, retryMinMs: 20, retryMaxMs: 40 },
      { info() {}, warn: (_obj, msg) => warnings.push(msg) },
    );
    try {
      await until(() => existsSync(attempts) && readFileSync(attempts, 'utf8').length >= 3, 'three attempts');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/MCP server 'broken' is unavailable/);
      const [status] = manager.status();
      expect(status).toMatchObject({ name: 'broken', state: 'failed', tools: [] });
      expect(status.error).toContain('bad config');
      expect(manager.toolsFor('researcher')).toEqual([]);
    } finally {
      await manager.close();
    }
  });
});
