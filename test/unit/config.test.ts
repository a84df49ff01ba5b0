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

  it('takes numbers in decimals and within range: an empty value is no 0, 0x50 no 80', () => {
    const refused: [Record<string, string>, string][] = [
      [{ OPENAI_COMPAT_PORT: '' }, 'Invalid OPENAI_COMPAT_PORT (got ""): expected a whole number from 0 to 65535'],
      [
        { OPENAI_COMPAT_PORT: '0x50' },
        'Invalid OPENAI_COMPAT_PORT (got "0x50"): expected a whole number from 0 to 65535',
      ],
      [
        { OPENAI_COMPAT_PORT: '70000' },
        'Invalid OPENAI_COMPAT_PORT (got "70000"): expected a whole number from 0 to 65535',
      ],
      [{ CORTEX_SHUTDOWN_GRACE_SECONDS: ' ' }, 'Invalid CORTEX_SHUTDOWN_GRACE_SECONDS (got " "): expected a number'],
      [
        { CORTEX_MAX_BODY_BYTES: '-5' },
        'Invalid CORTEX_MAX_BODY_BYTES (got "-5"): expected a whole number of at least 1024',
      ],
    ];
    for (const [env, message] of refused) expect(() => loadConfig(env)).toThrow(message);
    expect(loadConfig({ OPENAI_COMPAT_PORT: ' 8080 ' }).port).toBe(8080);
  });

  it('takes every model setting only as provider:model, a model in use or not', () => {
    for (const env of ['CORTEX_MODEL', 'CORTEX_WRITER_MODEL', 'CORTEX_FALLBACK_MODEL'])
      expect(() => loadConfig({ [env]: 'bogus:x' })).toThrow(
        `Invalid ${env} (got "bogus:x"): "bogus:x" is not provider:model`,
      );
    expect(loadConfig({ CORTEX_WRITER_MODEL: 'anthropic:claude-sonnet-4-5' }).writerModel).toBe(
      'anthropic:claude-sonnet-4-5',
    );
  });

  it('takes base URLs only as http(s) URLs, and a database URL only as postgres://', () => {
    for (const env of ['OPENAI_BASE_URL', 'CORTEX_COMPATIBLE_BASE_URL', 'OLLAMA_BASE_URL', 'CORTEX_SEARXNG_URL'])
      for (const bad of ['not a url', 'ftp://x'])
        expect(() => loadConfig({ [env]: bad })).toThrow(
          `Invalid ${env} (got "${bad}"): expected an http:// or https:// URL`,
        );
    expect(() => loadConfig({ CORTEX_DATABASE_URL: 'mysql://x@127.0.0.1/db' })).toThrow(/expected a postgres:\/\/ URL/);
    expect(loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }).openaiBaseUrl).toBe('http://127.0.0.1:9/v1');
    for (const bad of ['not a url, ftp://x', 'https://app.example.com/path'])
      expect(() => loadConfig({ CORTEX_CORS_ORIGINS: bad })).toThrow(/^Invalid CORTEX_CORS_ORIGINS/);
    expect(loadConfig({ CORTEX_CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
  });

  it('refuses static keys no client could send (a space, a non-ASCII letter), without showing them', () => {
    // A header is read as latin1 and a space ends the bearer token: such a key would never match,
    // and, keys being required, every client would be locked out.
    for (const bad of ['sk-clé-secrète', 'sk-ok, two words', 'sk-ключ', 'sk-tab\there'])
      expect(() => loadConfig({ CORTEX_API_KEYS: bad })).toThrow(
        /^Invalid CORTEX_API_KEYS: expected keys of visible ASCII characters only/,
      );
    expect(() => loadConfig({ CORTEX_API_KEYS: 'sk-clé-secrète' })).not.toThrow(/secr/);
    expect(loadConfig({ CORTEX_API_KEYS: 'sk-a_1.B~+/=, cf-x' }).apiKeys).toEqual(['sk-a_1.B~+/=', 'cf-x']);
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
