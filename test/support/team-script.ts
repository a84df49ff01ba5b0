// Scripts of the in-suite upstream for whole team runs. Each run carries a tag `[[name]]` in its
// user message; the supervisor's tasks repeat it, so every upstream request of that run (the
// supervisor's, the specialists', the writer's) can be told apart from those of concurrent runs.
import { delegationName } from '../../src/agents/tool-names.ts';
import type { MockUpstream, Reply, UpstreamRequest } from './mock-openai-upstream.ts';

export const tagOf = (req: UpstreamRequest): string | undefined =>
  /\[\[([\w-]+)\]\]/.exec(JSON.stringify(req.body.messages))?.[1];

/** The supervisor's turn: 1 before any delegation, 2 once its first tool results are in, ... */
export const supervisorTurn = (req: UpstreamRequest): number =>
  1 + req.body.messages.filter((m: any) => m.role === 'assistant' && m.tool_calls?.length).length;

export interface TeamScript {
  /** The supervisor's first turn; by default researcher and analyst in parallel. */
  plan?: Reply;
  /** The supervisor's later turns; by default the hand-over to the writer. */
  next?: (turn: number, req: UpstreamRequest) => Reply;
  specialist?: (agent: string, req: UpstreamRequest) => Reply;
  writer?: Reply;
}

export const ask = (agent: string, task: string) => ({ name: delegationName(agent), arguments: { task } });

export function teamScript(tag: string, s: TeamScript = {}): (req: UpstreamRequest) => Reply {
  return (req) => {
    switch (req.agent) {
      case 'supervisor': {
        const turn = supervisorTurn(req);
        if (turn === 1)
          return (
            s.plan ?? {
              toolCalls: [ask('researcher', `Find the facts [[${tag}]]`), ask('analyst', `Compute [[${tag}]]`)],
            }
          );
        return s.next?.(turn, req) ?? { toolCalls: [ask('writer', `Write the answer [[${tag}]]`)] };
      }
      case 'writer':
        return s.writer ?? { text: `The answer is 42. [[${tag}]]` };
      default:
        return s.specialist?.(req.agent ?? '', req) ?? { text: `The ${req.agent} found 42. [[${tag}]]` };
    }
  };
}

/** Routes each request to the script of its run's tag. */
export class ScriptBook {
  private readonly scripts = new Map<string, (req: UpstreamRequest) => Reply>();
  private readonly upstream: MockUpstream;

  constructor(upstream: MockUpstream) {
    this.upstream = upstream;
    upstream.setResponder((req) => {
      const script = this.scripts.get(tagOf(req) ?? '');
      return script ? script(req) : { status: 500, error: { message: `no script for ${tagOf(req)}` } };
    });
  }

  add(tag: string, script: (req: UpstreamRequest) => Reply): string {
    this.scripts.set(tag, script);
    return tag;
  }

  requests(tag: string, agent?: string): UpstreamRequest[] {
    return this.upstream.requests.filter((r) => tagOf(r) === tag && (!agent || r.agent === agent));
  }
}

export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
