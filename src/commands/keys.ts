// `cortex-flow keys create|list|revoke`: API keys kept (hashed) in the store. The plain key is
// printed once, at creation.
import { ConfigError, type Config } from '../config.ts';
import { generateApiKey, hashApiKey, newKeyId } from '../auth/api-keys.ts';
import { createStore } from '../store/create-store.ts';
import { shown } from './shown.ts';

export async function keysCommand(
  config: Config,
  action: string | undefined,
  args: { name?: string; target?: string },
  print: (line: string) => void,
): Promise<void> {
  const store = await createStore(config);
  try {
    switch (action) {
      case 'create': {
        if (!args.name?.trim() || args.name.startsWith('-'))
          throw new ConfigError('keys create needs --name NAME (a name that does not start with -)');
        const key = generateApiKey();
        const stored = await store.createApiKey({ id: newKeyId(), name: args.name, hash: hashApiKey(key) });
        print(`Created API key ${stored.id} (${shown(stored.name)}). It is shown only this once:`);
        print(key);
        return;
      }
      case 'list': {
        const keys = await store.listApiKeys();
        if (!keys.length) return print('No stored API keys.');
        for (const k of keys)
          print(
            `${k.id}\t${shown(k.name)}\tcreated ${k.createdAt}\t${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}`,
          );
        return;
      }
      case 'revoke': {
        if (!args.target) throw new ConfigError('keys revoke needs the id or name of a key');
        // Names need not be unique: a name that several active keys share names none of them (an
        // operator rotating one bot's key must not cut off another's). An id always names its own
        // key, even if another key was given that id as its name.
        const keys = await store.listApiKeys();
        const named = keys.filter((k) => !k.revokedAt && k.name === args.target);
        if (!keys.some((k) => k.id === args.target) && named.length > 1)
          throw new ConfigError(
            `${named.length} active API keys are named '${args.target}' (${named.map((k) => k.id).join(', ')}): revoke one by its id.`,
          );
        if (!(await store.revokeApiKey(args.target)))
          throw new ConfigError(`No active API key with id or name '${args.target}'`);
        print(`Revoked ${shown(args.target)}.`);
        return;
      }
      default:
        throw new ConfigError("Use 'keys create --name NAME', 'keys list' or 'keys revoke ID|NAME'.");
    }
  } finally {
    await store.close();
  }
}
