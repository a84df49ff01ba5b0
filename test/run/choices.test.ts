// Issue 19 item 7 and issue 11: `n` choices are n runs. Each takes a run slot and counts its tokens
// in the rate limits, `n` has a documented cap, and every choice's run is stored, billed and named
// (its own metadata, its id in `x-cortex-run-id`).
import { afterAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { streamChat, waitFor } from '../support/http-client.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { RunInput } from '../../src/orchestrator/types.ts';

/** The first run asked for (choice 0) fails after its first delta; the others answer. */
class FirstChoiceFails extends RecordingOrchestrator {
  private calls = 0;
  override run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    if (this.calls++ > 0) return super.run(input, signal);
    return new RecordingOrchestrator({
      answer: () => 'a broken answer',
      failWith: { message: 'upstream broke', status: 502, type: 'upstream_error', code: null },
    }).run(input, signal);
  }
}

/** The first choice answers at once, the second slowly (about 0.6 s). */
class SecondChoiceSlow extends RecordingOrchestrator {
  private calls = 0;
  override run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    const delayMs = this.calls++ === 0 ? 0 : 100;
    return new RecordingOrchestrator({ answer: () => 'twenty four letters long', delayMs }).run(input, signal);
  }
}

const servers: TestServer[] = [];
const start = async (...args: Parameters<typeof startTestServer>) => {
  const s = await startTestServer(...args);
  servers.push(s);
  return s;
};
afterAll(async () => {
  for (const s of servers) await s.close();
});
const hi = { messages: [{ role: 'user', content: 'hi' }] };
const key = (k: string) => ({ authorization: `Bearer ${k}` });

/** Limits count in one-minute windows: start a test well inside one, never across a boundary. */
async function awayFromMinuteBoundary(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50));
}

describe('n choices', () => {
  it('refuses more choices than CORTEX_MAX_CHOICES with a 400 naming n', async () => {
    const srv = await start(new RecordingOrchestrator(), { CORTEX_MAX_CHOICES: '4' });
    const r = await chat(srv.baseUrl, { ...hi, n: 5 });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param: 'n', code: 'too_many_choices' });
    expect((await chat(srv.baseUrl, { ...hi, n: 4 })).status).toBe(200);
  });

  it('takes one run slot per choice', async () => {
    const team = new RecordingOrchestrator({ answer: () => 'a slow answer here', delayMs: 150 });
    const srv = await start(team, { CORTEX_MAX_CONCURRENT_RUNS: '2', CORTEX_QUEUE_TIMEOUT_SECONDS: '0.2' });
    const both = chat(srv.baseUrl, { ...hi, n: 2 });
    await waitFor(() => team.inputs.length === 2, 5_000, 'both choices to start');
    const refused = await chat(srv.baseUrl, hi);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('too_many_concurrent_runs');
    expect((await both).status).toBe(200);
    expect(srv.deps.gate.running).toBe(0);
  });

  it("counts every choice's tokens in the tokens-per-minute limit", async () => {
    const srv = await start(new RecordingOrchestrator({ answer: () => 'word '.repeat(40) }), {
      CORTEX_API_KEYS: 'one,three',
      CORTEX_RATE_LIMIT_TPM: '100',
    });
    await awayFromMinuteBoundary();
    // One choice spends about 50 tokens: a second request fits in the minute.
    expect((await chat(srv.baseUrl, hi, key('one'))).status).toBe(200);
    expect((await chat(srv.baseUrl, hi, key('one'))).status).toBe(200);
    // Three choices spend three answers: the key's minute is used up.
    expect((await chat(srv.baseUrl, { ...hi, n: 3 }, key('three'))).status).toBe(200);
    const limited = await chat(srv.baseUrl, hi, key('three'));
    expect(limited.status).toBe(429);
    expect(limited.body.error.type).toBe('tokens');
  });

  it("stores and bills every choice's run, with metadata per choice and every run id in the header", async () => {
    const srv = await start(new RecordingOrchestrator());
    const r = await chat(srv.baseUrl, { ...hi, n: 3, conversation_id: 'three-ways' });
    expect(r.status).toBe(200);
    const ids = r.body.choices.map((c: any) => c.metadata.run_id);
    expect(new Set(ids).size).toBe(3);
    expect(r.headers.get('x-cortex-run-id')).toBe(ids.join(','));
    expect(r.body.metadata).toEqual(r.body.choices[0].metadata);
    for (const id of ids) {
      const run: any = await (await fetch(`${srv.baseUrl}/v1/runs/${id}`)).json();
      expect(run).toMatchObject({ id, conversation_id: 'three-ways', status: 'completed' });
      expect(run.usage.completion_tokens).toBeGreaterThan(0);
    }
    const list: any = await (await fetch(`${srv.baseUrl}/v1/runs?conversation_id=three-ways`)).json();
    expect(list.data.map((x: any) => x.id).sort()).toEqual([...ids].sort());
    // The transcript keeps the request's message once and one answer.
    expect((await srv.store.getMessages('three-ways')).map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('a failed choice fails the request: the others stop, the stream ends at its error frame, and the turn is kept as failed', async () => {
    for (const stream of [false, true]) {
      // The good choice streams slowly: it is still going when choice 0 fails.
      const team = new FirstChoiceFails({ answer: () => 'the good answer, slowly', delayMs: 50 });
      const srv = await start(team);
      const id = `one-fails-${stream}`;
      const body = { ...hi, n: 2, conversation_id: id };
      if (stream) {
        const r = await streamChat(srv.baseUrl, body);
        expect(r.frames.at(-1).error).toMatchObject({ code: null, message: 'upstream broke' });
        expect(r.done).toBe(false);
        // Nothing of the other choice follows the error frame.
        const failedAt = r.frames.findIndex((f) => f.error);
        expect(r.frames.slice(failedAt + 1)).toEqual([]);
      } else expect((await chat(srv.baseUrl, body)).status).toBe(502);
      await waitFor(
        async () => (await srv.store.listRuns(id, '', { limit: 10 })).data.every((r) => r.status !== 'running'),
        5_000,
        'the runs to be stored',
      );
      const runs = (await srv.store.listRuns(id, '', { limit: 10, order: 'asc' })).data;
      expect(runs.map((r) => r.status).sort()).toEqual(['cancelled', 'failed']);
      expect(runs.find((r) => r.status === 'cancelled')!.error).toBe(
        'another choice of the request failed, which ended the request',
      );
      // The transcript never holds an answer its client was not given: the failed turn, to retry.
      const messages = await srv.store.getMessages(id);
      expect(messages.map((m) => [m.role, m.content])).toEqual([
        ['user', 'hi'],
        ['assistant', 'a br'],
      ]);
      const retry = await chat(srv.baseUrl, body);
      expect(retry.status).toBe(200);
      expect((await srv.store.getMessages(id)).map((m) => m.content)).toEqual(['hi', 'the good answer, slowly']);
    }
  });

  it('a resend of a request whose choice failed retries its turn, in its conversation', async () => {
    const team = new FirstChoiceFails({ answer: () => 'the good answer' });
    const srv = await start(team);
    const failed = await chat(srv.baseUrl, { ...hi, n: 2 });
    expect(failed.status).toBe(502);
    const id = failed.headers.get('x-conversation-id')!;
    const again = await chat(srv.baseUrl, hi);
    expect(again.status).toBe(200);
    expect(again.body.conversation_id).toBe(id);
    expect((await srv.store.getMessages(id)).map((m) => m.content)).toEqual(['hi', 'the good answer']);
  });

  it("times each choice by its own run, not by its request's slowest choice", async () => {
    const srv = await start(new SecondChoiceSlow());
    const r = await chat(srv.baseUrl, { ...hi, n: 2, conversation_id: 'two-paces' });
    expect(r.status).toBe(200);
    const [fast, slow] = r.body.choices.map((c: any) => c.metadata);
    expect(slow.execution_time_seconds).toBeGreaterThanOrEqual(0.5);
    expect(fast.execution_time_seconds).toBeLessThan(0.3);
    const stored = async (id: string) => {
      const run = (await srv.store.getRun(id, ''))!;
      return (Date.parse(run.finishedAt!) - Date.parse(run.startedAt)) / 1000;
    };
    expect(await stored(fast.run_id)).toBeLessThan(0.3);
    expect(await stored(slow.run_id)).toBeGreaterThanOrEqual(0.5);
  });

  it('streams each choice with its own run id in its finish chunk and in the header', async () => {
    const srv = await start(new RecordingOrchestrator());
    const r = await streamChat(srv.baseUrl, { ...hi, n: 2 });
    expect(r.done).toBe(true);
    const finishes = r.frames.filter((f) => f.choices?.[0]?.finish_reason);
    const byIndex = Object.fromEntries(finishes.map((f) => [f.choices[0].index, f.metadata.run_id]));
    expect(r.headers.get('x-cortex-run-id')).toBe(`${byIndex[0]},${byIndex[1]}`);
  });
});
