// A conversation id a client chose is its own within its API key: two keys may both name a
// conversation `user_123_conv_1` and get two conversations. The store keeps such a conversation
// under `<owner>/<id>` (ids a client sends never contain `/`, src/http/resource-ids.ts), so every
// table, lock and lease keyed by conversation is per key without a second column; ids the server
// minted are unguessable and stay as they are. Requests are mapped to keys where they are parsed and
// keys back to ids where they are rendered: nothing in between sees a client's id.
import { isMintedConversationId } from '../run/run-ids.ts';

/** The key `owner`'s conversation `id` is stored under (owner '' when keys are off: one namespace). */
export const conversationKey = (owner: string | undefined, id: string): string =>
  !owner || isMintedConversationId(id) ? id : `${owner}/${id}`;

/** The id the client knows a stored conversation by. */
export const conversationIdOfKey = (key: string): string => key.slice(key.indexOf('/') + 1);
