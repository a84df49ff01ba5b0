// The deployment files hold together: compose.yaml runs replicas of the Containerfile's image on
// one PostgreSQL behind one published port, the proxy config sends to every replica and lets streams
// and long runs through, the Containerfile builds from a named Node base as a non-root user.
// (scripts/check-compose.sh validates compose.yaml with a Compose implementation as well.)
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const replicas = services.filter(([, s]) => s.build?.dockerfile === 'Containerfile');

describe('compose.yaml', () => {
  it('runs two replicas of the Containerfile image on the one PostgreSQL service', () => {
    expect(replicas.map(([name]) => name)).toHaveLength(2);
    const [postgresName] = services.find(([, s]) => s.image?.includes('postgres'))!;
    for (const [, replica] of replicas) {
      const url = replica.environment!.CORTEX_DATABASE_URL.replace(/\$\{[^}]*\}/g, 'from-env'); // Compose's ${VAR}
      expect(new URL(url).hostname).toBe(postgresName);
      expect(replica.healthcheck!.test.join(' ')).toContain('/health');
      expect(replica.ports).toBeUndefined(); // reached through the proxy only
    }
    // Every replica waits, directly or through another replica, for PostgreSQL to be healthy.
    const waitsForPostgres = (name: string): boolean =>
      Object.keys(compose.services[name].depends_on ?? {}).some((d) => d === postgresName || waitsForPostgres(d));
    for (const [name] of replicas) expect(waitsForPostgres(name)).toBe(true);
  });

  it('publishes one port, the proxy, which sends to every replica with streams unbuffered', () => {
    const published = services.filter(([, s]) => s.ports?.length);
    expect(published).toHaveLength(1);
    const [, proxy] = published[0];
    expect(proxy.ports).toHaveLength(1);
    const [, containerPort] = /:(\d+)$/.exec(proxy.ports![0])!;

    const confMount = proxy.volumes!.find((v) => v.startsWith('./deploy/'))!;
    const conf = read(confMount.split(':')[0].slice(2));
    expect(conf).toContain(`listen ${containerPort};`);
    const upstreams = [...conf.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(upstreams.sort()).toEqual(replicas.map(([name]) => `${name}:${SETTINGS.port.default}`).sort());
    expect(conf).toMatch(/^\s*proxy_buffering off;/m);
  });

  it('gives a run longer than the longest one allowed before the proxy times out', () => {
    const conf = read('deploy/nginx.conf');
    const maxRunSeconds = Number(SETTINGS.maxRunSeconds.default);
    for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const [, seconds] = new RegExp(`^\\s*${directive} (\\d+)s;`, 'm').exec(conf)!;
      expect(Number(seconds)).toBeGreaterThan(maxRunSeconds);
    }
  });
});

describe('Containerfile', () => {
  const file = read('Containerfile');
  const instructions = file
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => /^[A-Z]+\s/.test(l));
  const all = (name: string) => instructions.filter((l) => l.startsWith(`${name} `));

  it('builds in two stages from the base image named by a build argument', () => {
    expect(all('ARG')[0]).toMatch(/^ARG NODE_IMAGE=\S*node:24/);
    expect(all('FROM')).toHaveLength(2);
    for (const from of all('FROM')) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\}/);
  });

  it('runs as a non-root user, listening on all interfaces, with its data under a volume', () => {
    const user = all('USER').at(-1)!;
    expect(user).not.toMatch(/^USER (root|0)\b/);
    const env = all('ENV').join(' ');
    expect(env).toContain('CORTEX_HOST=0.0.0.0');
    const [, dataDir] = /CORTEX_DATA_DIR=(\S+)/.exec(env)!;
    expect(all('VOLUME').join(' ')).toContain(`"${dataDir}"`);
    expect(all('HEALTHCHECK').join(' ')).toContain('/health');
  });
});
