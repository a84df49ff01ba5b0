// API keys: static ones from CORTEX_API_KEYS and ones kept (hashed) in the store. A key is
// random and long, so one SHA-256 is enough to store it safely; the plain key is shown once at
// creation and never kept. The key's id is the owner of what it creates.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface StoredApiKey {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

/** The part of the store that keeps API keys. */
export interface ApiKeyStore {
  createApiKey(key: { id: string; name: string; hash: string }): Promise<StoredApiKey>;
  listApiKeys(): Promise<StoredApiKey[]>;
  /**
   * Revokes the key with this id or, when no key has this id, the one active key with this name
   * (a name several active keys share revokes none). False when nothing was revoked.
   */
  revokeApiKey(idOrName: string): Promise<boolean>;
  /** The id of the active key with this hash. */
  findApiKey(hash: string): Promise<string | undefined>;
  countActiveApiKeys(): Promise<number>;
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');
export const generateApiKey = (): string => `cf-${randomBytes(24).toString('base64url')}`;
export const newKeyId = (): string => `key_${randomBytes(8).toString('hex')}`;

/** `CORTEX_AUTH`: unset decides from the keys that exist (see `ApiKeyAuthenticator.status`). */
export type AuthMode = 'required' | 'off' | undefined;

export interface AuthStatus {
  required: boolean;
  /** Why, in words an operator reads in the start-up log. */
  reason: string;
}

/** Decides whether keys are required and which owner a bearer token stands for. */
/** How long "no key has ever existed" is believed before the key table is read again. */
const NO_KEY_RECHECK_MS = 1000;
const NO_KEY: AuthStatus = {
  required: false,
  reason: 'no API key has ever existed; CORTEX_AUTH=required or a key turns keys on',
};

export class ApiKeyAuthenticator {
  private readonly staticKeys: { hash: Buffer; id: string }[];
  private readonly store: ApiKeyStore | undefined;
  private readonly mode: AuthMode;
  /**
   * Once a key has existed, keys stay required: a stored key is never deleted (only revoked), so
   * a "yes" is final and kept. A "no" is read again once it is a second old: the first key may be
   * created at any moment by `cortex-flow keys create` in another process (or on another replica),
   * and from then on requests without a key are refused within that second, here and on every
   * replica. (It was five seconds. Read on every request, it cost each request of a server without
   * keys a store round trip before anything else, for a window that only the first key's creation
   * opens.)
   */
  private keysHaveExisted: AuthStatus | undefined;
  private noKeySeenAt = -Infinity;

  constructor(staticKeys: string[], store?: ApiKeyStore, mode?: AuthMode) {
    this.staticKeys = staticKeys.map((k) => {
      const hash = hashApiKey(k);
      return { hash: Buffer.from(hash, 'hex'), id: `key_static_${hash.slice(0, 12)}` };
    });
    this.store = store;
    this.mode = mode;
  }

  async required(): Promise<boolean> {
    return (await this.status()).required;
  }

  async status(): Promise<AuthStatus> {
    if (this.mode === 'off') return { required: false, reason: 'CORTEX_AUTH=off' };
    if (this.mode === 'required') return { required: true, reason: 'CORTEX_AUTH=required' };
    if (this.staticKeys.length)
      return { required: true, reason: `${this.staticKeys.length} static key(s) in CORTEX_API_KEYS` };
    if (!this.store) return { required: false, reason: 'no key store and no static key' };
    if (this.keysHaveExisted) return this.keysHaveExisted;
    const now = Date.now();
    if (now - this.noKeySeenAt < NO_KEY_RECHECK_MS) return NO_KEY;
    // Revoked keys count: revoking the last key must not open the server to everyone.
    if ((await this.store.listApiKeys()).length === 0) {
      this.noKeySeenAt = now;
      return NO_KEY;
    }
    this.keysHaveExisted = {
      required: true,
      reason: 'API keys have been created (revoked ones count); CORTEX_AUTH=off turns keys off',
    };
    return this.keysHaveExisted;
  }

  /** The owner id of a valid key, or undefined. */
  async authenticate(token: string): Promise<string | undefined> {
    const hash = hashApiKey(token);
    const digest = Buffer.from(hash, 'hex');
    for (const k of this.staticKeys) if (timingSafeEqual(k.hash, digest)) return k.id;
    return this.store?.findApiKey(hash);
  }
}
