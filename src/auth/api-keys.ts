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

/** Decides whether keys are required and which owner a bearer token stands for. */
export class ApiKeyAuthenticator {
  private readonly staticKeys: { hash: Buffer; id: string }[];
  private readonly store: ApiKeyStore | undefined;
  /** Whether stored keys exist, re-read at most every few seconds. */
  private storedKeysKnown: { any: boolean; at: number } | undefined;

  constructor(staticKeys: string[], store?: ApiKeyStore) {
    this.staticKeys = staticKeys.map((k) => {
      const hash = hashApiKey(k);
      return { hash: Buffer.from(hash, 'hex'), id: `key_static_${hash.slice(0, 12)}` };
    });
    this.store = store;
  }

  async required(): Promise<boolean> {
    if (this.staticKeys.length) return true;
    if (!this.store) return false;
    const now = Date.now();
    if (!this.storedKeysKnown || now - this.storedKeysKnown.at > 5000) {
      this.storedKeysKnown = { any: (await this.store.countActiveApiKeys()) > 0, at: now };
    }
    return this.storedKeysKnown.any;
  }

  /** Forget the cached "are there keys" answer (after a key was created or revoked here). */
  invalidate(): void {
    this.storedKeysKnown = undefined;
  }

  /** The owner id of a valid key, or undefined. */
  async authenticate(token: string): Promise<string | undefined> {
    const hash = hashApiKey(token);
    const digest = Buffer.from(hash, 'hex');
    for (const k of this.staticKeys) if (timingSafeEqual(k.hash, digest)) return k.id;
    return this.store?.findApiKey(hash);
  }
}
