import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, SETTINGS, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('has typed defaults for every setting', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8001);
    expect(config.modelName).toBe('cortex-flow');
    expect(config.maxContextTokens).toBe(8000);
    expect(config.enabled).toBe(true);
  });

  it('reads the spec variables by their names', () => {
    const config = loadConfig({
      OPENAI_COMPAT_ENABLE: 'false',
      OPENAI_COMPAT_PORT: '9100',
      OPENAI_COMPAT_MODEL_NAME: 'my-team',
      OPENAI_COMPAT_MAX_CONTEXT_TOKENS: '4096',
      OPENAI_COMPAT_TOKEN_MODEL: 'gpt-4o',
    });
    expect(config).toMatchObject({
      enabled: false,
      port: 9100,
      modelName: 'my-team',
      maxContextTokens: 4096,
      tokenModel: 'gpt-4o',
    });
  });

  it('rejects a bad value with one line naming the variable', () => {
    expect(() => loadConfig({ OPENAI_COMPAT_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ OPENAI_COMPAT_PORT: 'eighty' })).toThrow(/^Invalid OPENAI_COMPAT_PORT \(got "eighty"\)/);
    expect(() => loadConfig({ OPENAI_COMPAT_ENABLE: 'maybe' })).toThrow(/OPENAI_COMPAT_ENABLE/);
  });

  it('lists every setting with its default in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of Object.values(SETTINGS)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${s.env}\` |`));
      expect(row, `${s.env} missing from the README settings table`).toBeDefined();
      const shownDefault = 'default' in s && s.default !== undefined ? `\`${s.default}\`` : '(unset)';
      expect(row, `${s.env} default`).toContain(`| ${shownDefault} |`);
    }
  });
});

describe('edge settings', () => {
  it('has documented defaults for the request time limit, the connection cap and the auth mode', () => {
    const config = loadConfig({});
    expect(config.requestTimeoutSeconds).toBe(30);
    expect(config.maxConnections).toBe(1000);
    expect(config.auth).toBeUndefined();
  });

  it('accepts CORTEX_AUTH=required|off and nothing else', () => {
    expect(loadConfig({ CORTEX_AUTH: 'required' }).auth).toBe('required');
    expect(loadConfig({ CORTEX_AUTH: 'off' }).auth).toBe('off');
    expect(() => loadConfig({ CORTEX_AUTH: 'maybe' })).toThrow(/^Invalid CORTEX_AUTH/);
    expect(() => loadConfig({ CORTEX_REQUEST_TIMEOUT_SECONDS: '0' })).toThrow(/CORTEX_REQUEST_TIMEOUT_SECONDS/);
  });
});
