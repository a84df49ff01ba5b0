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
export class ApiKeyAuthenticator {
  private readonly staticKeys: { hash: Buffer; id: string }[];
  private readonly store: ApiKeyStore | undefined;
  private readonly mode: AuthMode;
  /**
   * Once a key has existed, keys stay required: a stored key is never deleted (only revoked), so
   * a "yes" is final and never re-read. A "no" is re-read at most every few seconds, to notice a
   * key created by `cortex-flow keys create` in another process.
   */
  private known: { status: AuthStatus; at: number } | undefined;

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
    const now = Date.now();
    if (this.known?.status.required || (this.known && now - this.known.at <= 5000)) return this.known.status;
    // Revoked keys count: revoking the last key must not open the server to everyone.
    const everCreated = (await this.store.listApiKeys()).length > 0;
    this.known = {
      status: everCreated
        ? { required: true, reason: 'API keys have been created (revoked ones count); CORTEX_AUTH=off turns keys off' }
        : { required: false, reason: 'no API key has ever existed; CORTEX_AUTH=required or a key turns keys on' },
      at: now,
    };
    return this.known.status;
  }

  /** Forget a cached "no keys yet" (after a key was created here). */
  invalidate(): void {
    if (!this.known?.status.required) this.known = undefined;
  }

  /** The owner id of a valid key, or undefined. */
  async authenticate(token: string): Promise<string | undefined> {
    const hash = hashApiKey(token);
    const digest = Buffer.from(hash, 'hex');
    for (const k of this.staticKeys) if (timingSafeEqual(k.hash, digest)) return k.id;
    return this.store?.findApiKey(hash);
  }
}
