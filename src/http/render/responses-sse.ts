// A run rendered as the Responses API's semantic events over SSE (`event: <type>` + `data: <json>`,
// each with its `sequence_number`): response.created and .in_progress, then output items as they
// form (the team's progress as a reasoning item's summary, the answer as a message's output_text,
// the client's tool calls as function_call items with their arguments), and last
// response.completed, .incomplete or .failed, sent only once the turn and the response are stored.
import type { FastifyReply } from 'fastify';
import type { ChatRun } from '../../run/chat-run.ts';
import type { RunEvent } from '../../orchestrator/events.ts';
import type { AppDeps } from '../deps.ts';
import { ApiError, serverError } from '../errors.ts';
import { SseWriter } from '../sse.ts';
import { responseHeaders, type ResponseOutlet } from './responses-json.ts';
import {
  functionCallItem,
  messageItem,
  newItemId,
  outputText,
  reasoningItem,
  responseObject,
} from './responses-object.ts';

export async function streamResponse(run: ChatRun, reply: FastifyReply, deps: AppDeps, outlet: ResponseOutlet) {
  const sse = new SseWriter(reply.raw, {
    keepAliveSeconds: deps.config.keepAliveSeconds,
    writeTimeoutSeconds: deps.config.streamWriteTimeoutSeconds,
    signal: run.ended, // once the runs are over, the last events are queued without waiting
  });
  const hookHeaders = reply.getHeaders() as Record<string, string>;
  reply.hijack(); // from here on every failure is answered here: nobody else can
  const events = new ResponseEvents(sse, run, outlet);
  try {
    // response.created and .in_progress follow at once: the headers leave with them, in one write.
    sse.open(200, { ...hookHeaders, ...responseHeaders(run, outlet) }, { withFirstFrames: true });
    deps.metrics.activeStreams.inc();
    try {
      await events.stream();
    } finally {
      deps.metrics.activeStreams.dec();
    }
  } catch (err) {
    reply.request.log.error({ err }, 'response stream failed');
    const e = run.error(err instanceof ApiError ? err : serverError());
    if (!reply.raw.headersSent) {
      reply.raw.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', ...e.headers });
      reply.raw.end(JSON.stringify(e.toJSON()));
    } else {
      await events.error(e);
      sse.end();
    }
  }
}

/** The event sequence of one response: output items opened and closed as the run's events arrive. */
class ResponseEvents {
  private readonly sse: SseWriter;
  private readonly run: ChatRun;
  private readonly outlet: ResponseOutlet;
  private sequence = 0;
  /** Output items as they stand (closed ones final), for snapshots and the final object. */
  private readonly output: Record<string, unknown>[] = [];
  private reasoning: { index: number; id: string; summaries: string[] } | undefined;
  private message: { index: number; id: string; text: string } | undefined;

  constructor(sse: SseWriter, run: ChatRun, outlet: ResponseOutlet) {
    this.sse = sse;
    this.run = run;
    this.outlet = outlet;
    outlet.streamed = this.output;
  }

  async stream(): Promise<void> {
    const snapshot = responseObject(this.outlet.head, { status: 'in_progress', output: [] });
    await this.emit('response.created', { response: snapshot });
    await this.emit('response.in_progress', { response: snapshot });
    for await (const [, event] of this.run.events()) {
      if (!this.sse.isOpen) continue; // keep consuming: the run is being stopped and must be recorded
      await this.apply(event);
    }
    try {
      await this.run.complete(); // the turn and the response stored before the final event, or an error
    } catch (err) {
      return this.fail(err);
    }
    const body = this.outlet.final();
    if (!this.sse.isOpen) return this.sse.end();
    const type =
      body.status === 'completed'
        ? 'response.completed'
        : body.status === 'failed'
          ? 'response.failed'
          : 'response.incomplete';
    await this.emit(type, { response: body });
    this.sse.end();
  }

  /** An `error` event: the stream ends without a final response (the turn was not stored). */
  async error(e: ApiError): Promise<void> {
    const { error } = e.toJSON();
    await this.emit('error', {
      error: { type: error.type, code: error.code, message: error.message, param: error.param },
    });
  }

  private async fail(err: unknown): Promise<void> {
    if (this.sse.isOpen) await this.error(this.run.error(err instanceof ApiError ? err : serverError()));
    this.sse.end();
  }

  private async apply(event: RunEvent): Promise<void> {
    switch (event.type) {
      case 'progress':
        return this.progress(event.text);
      case 'text_delta':
        await this.closeReasoning();
        return this.text(event.text);
      case 'run_finished': {
        await this.closeReasoning();
        const streamed = this.message?.text ?? '';
        // An engine that does not stream its answer sends it whole with run_finished.
        const rest = event.text.startsWith(streamed) ? event.text.slice(streamed.length) : '';
        if (rest || (!this.message && !event.toolCalls?.length)) await this.text(rest);
        const complete = event.finishReason === 'stop' || event.finishReason === 'tool_calls';
        if (this.message) await this.closeMessage(event.text, event.sources, complete ? 'completed' : 'incomplete');
        for (const call of event.toolCalls ?? []) await this.functionCall(call);
        return;
      }
      case 'run_failed':
        await this.closeReasoning();
        if (this.message) await this.closeMessage(this.message.text, [], 'incomplete');
        return;
    }
  }

  private async progress(text: string): Promise<void> {
    if (!this.reasoning) {
      // Progress after the answer began opens a new reasoning item: output items are never reopened.
      this.reasoning = { index: this.output.length, id: newItemId('rs'), summaries: [] };
      const item = reasoningItem(this.reasoning.id, []);
      this.output.push(item);
      await this.emit('response.output_item.added', { output_index: this.reasoning.index, item });
    }
    const r = this.reasoning;
    const at = { item_id: r.id, output_index: r.index, summary_index: r.summaries.length };
    r.summaries.push(text);
    await this.emit('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } });
    await this.emit('response.reasoning_summary_text.delta', { ...at, delta: text });
    await this.emit('response.reasoning_summary_text.done', { ...at, text });
    await this.emit('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text } });
    this.output[r.index] = reasoningItem(r.id, r.summaries);
  }

  private async closeReasoning(): Promise<void> {
    const r = this.reasoning;
    if (!r) return;
    this.reasoning = undefined;
    await this.emit('response.output_item.done', { output_index: r.index, item: this.output[r.index] });
  }

  private async text(delta: string): Promise<void> {
    if (!this.message) {
      this.message = { index: this.output.length, id: newItemId('msg'), text: '' };
      const item = messageItem(this.message.id, 'in_progress', []);
      this.output.push(item);
      await this.emit('response.output_item.added', { output_index: this.message.index, item });
      await this.emit('response.content_part.added', {
        item_id: this.message.id,
        output_index: this.message.index,
        content_index: 0,
        part: outputText(''),
      });
    }
    const m = this.message;
    m.text += delta;
    this.output[m.index] = messageItem(m.id, 'in_progress', [outputText(m.text)]);
    if (delta)
      await this.emit('response.output_text.delta', {
        item_id: m.id,
        output_index: m.index,
        content_index: 0,
        delta,
        logprobs: [],
      });
  }

  private async closeMessage(
    text: string,
    sources: Parameters<typeof outputText>[1],
    status: 'completed' | 'incomplete',
  ): Promise<void> {
    const m = this.message!;
    const at = { item_id: m.id, output_index: m.index, content_index: 0 };
    const part = outputText(text, sources);
    await this.emit('response.output_text.done', { ...at, text, logprobs: [] });
    await this.emit('response.content_part.done', { ...at, part });
    const item = messageItem(m.id, status, [part]);
    this.output[m.index] = item;
    await this.emit('response.output_item.done', { output_index: m.index, item });
  }

  private async functionCall(call: { id: string; name: string; arguments: string }): Promise<void> {
    const index = this.output.length;
    const id = newItemId('fc');
    const added = functionCallItem(id, call, 'in_progress');
    this.output.push(added);
    await this.emit('response.output_item.added', { output_index: index, item: added });
    const at = { item_id: id, output_index: index };
    await this.emit('response.function_call_arguments.delta', { ...at, delta: call.arguments });
    await this.emit('response.function_call_arguments.done', { ...at, name: call.name, arguments: call.arguments });
    const done = functionCallItem(id, call, 'completed');
    this.output[index] = done;
    await this.emit('response.output_item.done', { output_index: index, item: done });
  }

  private emit(type: string, payload: Record<string, unknown>): Promise<void> {
    return this.sse.event(type, { type, sequence_number: this.sequence++, ...payload });
  }
}
