// A paused run's checkpoint carried by the client instead of the store. A Responses request with
// `store: false` keeps nothing on the server; with `include: ["reasoning.encrypted_content"]` (what
// OpenAI's stateless clients ask for, Codex-style agents among them) the response's reasoning item
// carries the run's checkpoint sealed, and the request that sends the item back with its tool
// results resumes the run from it, instead of the team doing its research again.
//
// Sealed with AES-256-GCM under a key of the server's store (every replica reads the same one), the
// API key's id bound as additional data: a checkpoint can be neither read nor altered by the client,
// nor used by another key. Compressed first: a checkpoint holds the agents' findings as text.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { RunCheckpoint } from '../orchestrator/types.ts';
import type { Store } from '../store/types.ts';

/** Marks the format (and this server as its author): a later format gets another prefix. */
const PREFIX = 'cfck1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The name of the store's secret the seal is keyed with. */
export const CHECKPOINT_SEAL_SECRET = 'checkpoint_seal';

export class CheckpointSeal {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a checkpoint seal needs a 32-byte key');
    this.key = key;
  }

  seal(owner: string, checkpoint: RunCheckpoint): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(owner));
    const body = Buffer.concat([cipher.update(deflateRawSync(JSON.stringify(checkpoint))), cipher.final()]);
    return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The checkpoint sealed for `owner`; undefined when the text is not one (altered, another key's, another server's). */
  open(owner: string, sealed: string): RunCheckpoint | undefined {
    if (!sealed.startsWith(PREFIX)) return undefined;
    const bytes = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(owner));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const body = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
      const checkpoint = JSON.parse(inflateRawSync(body).toString('utf8')) as RunCheckpoint;
      return Array.isArray(checkpoint?.pendingToolCallIds) ? checkpoint : undefined;
    } catch {
      return undefined; // the tag did not verify: not sealed here, or not for this key
    }
  }
}

/**
 * The server's seal, keyed by the store's secret (made at its first use), read once. Without a store
 * (HTTP tests that keep nothing) a key of this process serves.
 */
export function checkpointSealOf(store: Store | undefined): () => Promise<CheckpointSeal> {
  let seal: Promise<CheckpointSeal> | undefined;
  return () => {
    if (!seal) {
      const key = store
        ? store.serverSecret(CHECKPOINT_SEAL_SECRET)
        : Promise.resolve(randomBytes(32).toString('base64'));
      seal = key.then((base64) => new CheckpointSeal(Buffer.from(base64, 'base64')));
      seal.catch(() => (seal = undefined)); // a store that failed to answer is asked again next time
    }
    return seal;
  };
}
