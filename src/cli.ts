// `cortex-flow <command>`: the one entry point for operators.
import { parseArgs } from 'node:util';
import { ConfigError, effectiveEnv, loadConfig } from './config.ts';
import { createApp, listen } from './app.ts';
import { VERSION } from './version.ts';
import { OFFLINE_ENGINE } from './offline/offline-orchestrator.ts';
import { keysCommand } from './commands/keys.ts';
import { ingestCommand, kbCommand } from './commands/kb.ts';
import { mcpCommand } from './commands/mcp.ts';
import { handleShutdownSignals } from './ops/shutdown-signals.ts';

const HELP = `Cortex Flow ${VERSION}: a team of AI agents behind the OpenAI Chat Completions API

Usage: cortex-flow <command> [options]

Commands:
  serve                     Start the OpenAI-compatible server (default port 8001)
  ingest PATH...            Add files or folders (md, txt, html, pdf) to the knowledge base
  kb list                   List the documents of the knowledge base
  kb remove ID|PATH         Remove a document from the knowledge base
  keys create --name NAME   Create an API key (printed once, stored hashed)
  keys list                 List stored API keys
  keys revoke ID|NAME       Revoke a stored API key
  mcp list                  The agents' MCP servers (CORTEX_MCP_CONFIG): state and tools
  mcp serve                 Serve the team as an MCP server over stdio (for desktop clients)
  help                      Show this help

Options:
  -p, --port N     Port to listen on (overrides OPENAI_COMPAT_PORT)
      --host ADDR  Address to listen on (overrides CORTEX_HOST)
  -h, --help       Show this help
  -v, --version    Print the version

Settings come from the environment and a .env file in the working directory; see README.md.`;

async function serve(flags: { port?: string; host?: string }): Promise<void> {
  const env = effectiveEnv();
  if (flags.port !== undefined) {
    if (!/^\d+$/.test(flags.port))
      throw new ConfigError(`Invalid --port (got "${flags.port}"): expected a port number.`);
    env.OPENAI_COMPAT_PORT = flags.port;
  }
  if (flags.host) env.CORTEX_HOST = flags.host;
  const config = loadConfig(env);
  if (!config.enabled)
    throw new ConfigError('OPENAI_COMPAT_ENABLE is false: the OpenAI-compatible API is disabled, nothing to serve.');
  const app = await createApp(config);
  // Before the server listens: a signal that came once it did (while the start-up log below waited
  // for the store) found Node's default still in place, which killed the process, requests and all.
  const stop = async (signal: string) => {
    app.server.log.info({ signal }, 'shutting down');
    try {
      await app.close();
      process.exit(0);
    } catch (err) {
      // A failed close (a store that went away) still ends the process, saying why.
      app.server.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  handleShutdownSignals({ stop, stopRunsNow: () => app.stopRunsNow() }, app.server.log);
  const url = await listen(app);
  app.server.log.info(
    { url, engine: app.deps.orchestrator.engine, version: VERSION },
    `Cortex Flow listening on ${url}/v1`,
  );
  // Operators must be able to tell from the log whether the server is open to anyone, and why.
  const auth = await app.deps.auth.status();
  app.server.log.info(
    { auth: auth.required ? 'required' : 'off', reason: auth.reason },
    `API keys ${auth.required ? 'required' : 'NOT required'}: ${auth.reason}`,
  );
  if (app.deps.orchestrator.engine === OFFLINE_ENGINE) {
    app.server.log.warn(
      'No language model configured: answering with the offline extractive engine (quotes from the knowledge base, no generated text). Set CORTEX_MODEL=openai:gpt-4.1-mini and OPENAI_API_KEY to use a model.',
    );
  }
}

/**
 * The command line, strictly: an unknown option (`--prot`) or an option without its value (`--port`
 * alone, which a lenient parse reads as `true`, port 1) is an error, not silently ignored.
 */
function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        name: { type: 'string' },
      },
    });
  } catch (err) {
    const why = (err as Error).message.replace(/\s*\n\s*/g, ' '); // one line, as every start-up error
    throw new ConfigError(`${why} Run 'cortex-flow --help' for the options.`);
  }
}

/** The options and the most arguments of each command (`ingest` takes any number of paths). */
const USAGE: Record<string, { options?: string[]; args: number }> = {
  serve: { options: ['port', 'host'], args: 0 },
  ingest: { args: Infinity },
  'kb list': { args: 0 },
  'kb remove': { args: 1 },
  'keys create': { options: ['name'], args: 0 },
  'keys list': { args: 0 },
  'keys revoke': { args: 1 },
  'mcp list': { args: 0 },
  'mcp serve': { args: 0 },
};

/**
 * An option of another command (`kb list --name x`) or a word too many (`kb remove a b`, which
 * removed `a` alone and said nothing of `b`) is refused: ignoring it does something else than
 * what was asked, silently. An unknown subcommand is left to its command to explain.
 */
function checkUsage(values: Record<string, unknown>, positionals: string[]): void {
  const words = USAGE[positionals[0]] ? 1 : 2;
  const command = positionals.slice(0, words).join(' ');
  const usage = USAGE[command];
  if (!usage) return;
  for (const [option, value] of Object.entries(values))
    if (value !== undefined && !usage.options?.includes(option))
      throw new ConfigError(`'--${option}' is not an option of '${command}'. Run 'cortex-flow --help' for the usage.`);
  const extra = positionals[words + usage.args];
  if (extra !== undefined)
    throw new ConfigError(`Unexpected argument '${extra}' for '${command}'. Run 'cortex-flow --help' for the usage.`);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv);
  const [command = 'help'] = positionals;
  if (values.version) return void console.log(VERSION);
  if (values.help || command === 'help') return void console.log(HELP);
  checkUsage(values, positionals);
  switch (command) {
    case 'serve':
      return serve(values as { port?: string; host?: string });
    case 'ingest':
      return ingestCommand(loadConfig(effectiveEnv()), positionals.slice(1), (line) => console.log(line));
    case 'kb':
      return kbCommand(loadConfig(effectiveEnv()), positionals[1], positionals[2], (line) => console.log(line));
    case 'keys':
      return keysCommand(
        loadConfig(effectiveEnv()),
        positionals[1],
        { name: values.name, target: positionals[2] },
        (line) => console.log(line),
      );
    case 'mcp':
      return mcpCommand(loadConfig(effectiveEnv()), positionals[1], (line) => console.log(line));
    default:
      throw new ConfigError(`Unknown command '${command}'. Run 'cortex-flow --help' for the list.`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`cortex-flow: ${err.message}`);
  } else {
    console.error(`cortex-flow: ${(err as Error)?.message ?? String(err)}`);
  }
  process.exit(1);
});
