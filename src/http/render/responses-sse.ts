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
  /** Events formatted and not yet written (see emit). */
  private pending = '';
  /** Output items as they stand (closed ones final), for snapshots and the final object. */
  private readonly output: Record<string, unknown>[] = [];
  private reasoning: { index: number; id: string; summaries: string[] } | undefined;
  private message: { index: number; id: string; text: string } | undefined;
  /** A reasoning item carries the run's sealed checkpoint. */
  private carried = false;

  constructor(sse: SseWriter, run: ChatRun, outlet: ResponseOutlet) {
    this.sse = sse;
    this.run = run;
    this.outlet = outlet;
    outlet.streamed = this.output;
  }

  async stream(): Promise<void> {
    // response.created and .in_progress carry the same snapshot: serialised once.
    const snapshot = JSON.stringify(responseObject(this.outlet.head, { status: 'in_progress', output: [] }));
    this.emitResponse('response.created', snapshot);
    this.emitResponse('response.in_progress', snapshot);
    await this.flush();
    for await (const [, event] of this.run.events()) {
      if (!this.sse.isOpen) continue; // keep consuming: the run is being stopped and must be recorded
      this.apply(event);
      await this.flush();
    }
    // A run stopped before it ended (a cancel, the time limit) closes what it opened: each item
    // added gets its .done, the message as incomplete (the stored copy is built from these items).
    this.closeReasoning();
    if (this.message) this.closeMessage(this.message.text, [], 'incomplete');
    if (this.sse.isOpen) await this.flush();
    else this.pending = '';
    try {
      await this.run.complete(); // the turn and the response stored before the final event, or an error
    } catch (err) {
      return this.fail(err);
    }
    const { status } = this.outlet.final();
    if (!this.sse.isOpen) return this.sse.end();
    const type =
      status === 'completed' ? 'response.completed' : status === 'failed' ? 'response.failed' : 'response.incomplete';
    // The text the store kept is the text sent (serialised once, src/http/routes/responses.ts).
    this.emitResponse(type, this.outlet.finalJson());
    await this.flush();
    this.sse.end();
  }

  /** An `error` event: the stream ends without a final response (the turn was not stored). */
  async error(e: ApiError): Promise<void> {
    const { error } = e.toJSON();
    this.emit('error', {
      error: { type: error.type, code: error.code, message: error.message, param: error.param },
    });
    await this.flush();
  }

  private async fail(err: unknown): Promise<void> {
    if (this.sse.isOpen) await this.error(this.run.error(err instanceof ApiError ? err : serverError()));
    this.sse.end();
  }

  private apply(event: RunEvent): void {
    switch (event.type) {
      case 'progress':
        return this.progress(event.text);
      case 'text_delta':
        this.closeReasoning();
        return this.text(event.text);
      case 'run_finished': {
        // A run paused for client tools: its checkpoint, sealed, goes with the reasoning item that
        // precedes the calls (the one still open, or one of its own), when `include` asked for it.
        const sealed = event.checkpoint && this.outlet.sealCheckpoint?.(event.checkpoint);
        if (sealed && this.reasoning) this.carry(sealed);
        this.closeReasoning();
        const streamed = this.message?.text ?? '';
        // An engine that does not stream its answer sends it whole with run_finished.
        const rest = event.text.startsWith(streamed) ? event.text.slice(streamed.length) : '';
        if (rest || (!this.message && !event.toolCalls?.length)) this.text(rest);
        const complete = event.finishReason === 'stop' || event.finishReason === 'tool_calls';
        if (this.message) this.closeMessage(event.text, event.sources, complete ? 'completed' : 'incomplete');
        if (sealed && !this.carried) {
          this.openReasoning();
          this.carry(sealed);
          this.closeReasoning();
        }
        for (const call of event.toolCalls ?? []) this.functionCall(call);
        return;
      }
      case 'run_failed':
        this.closeReasoning();
        if (this.message) this.closeMessage(this.message.text, [], 'incomplete');
        return;
    }
  }

  private progress(text: string): void {
    // Progress after the answer began opens a new reasoning item: output items are never reopened.
    const r = this.reasoning ?? this.openReasoning();
    const at = { item_id: r.id, output_index: r.index, summary_index: r.summaries.length };
    r.summaries.push(text);
    this.emit('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } });
    this.emit('response.reasoning_summary_text.delta', { ...at, delta: text });
    this.emit('response.reasoning_summary_text.done', { ...at, text });
    this.emit('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text } });
    this.output[r.index] = reasoningItem(r.id, r.summaries);
  }

  private openReasoning(): { index: number; id: string; summaries: string[] } {
    const r = (this.reasoning = { index: this.output.length, id: newItemId('rs'), summaries: [] });
    const item = reasoningItem(r.id, []);
    this.output.push(item);
    this.emit('response.output_item.added', { output_index: r.index, item });
    return r;
  }

  /** The open reasoning item carries the sealed checkpoint in its final form (its .done and the response). */
  private carry(sealed: string): void {
    const r = this.reasoning!;
    this.output[r.index] = reasoningItem(r.id, r.summaries, sealed);
    this.carried = true;
  }

  private closeReasoning(): void {
    const r = this.reasoning;
    if (!r) return;
    this.reasoning = undefined;
    this.emit('response.output_item.done', { output_index: r.index, item: this.output[r.index] });
  }

  private text(delta: string): void {
    if (!this.message) {
      this.message = { index: this.output.length, id: newItemId('msg'), text: '' };
      const item = messageItem(this.message.id, 'in_progress', []);
      this.output.push(item);
      this.emit('response.output_item.added', { output_index: this.message.index, item });
      this.emit('response.content_part.added', {
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
      this.emit('response.output_text.delta', {
        item_id: m.id,
        output_index: m.index,
        content_index: 0,
        delta,
        logprobs: [],
      });
  }

  private closeMessage(
    text: string,
    sources: Parameters<typeof outputText>[1],
    status: 'completed' | 'incomplete',
  ): void {
    const m = this.message!;
    const at = { item_id: m.id, output_index: m.index, content_index: 0 };
    const part = outputText(text, sources);
    this.emit('response.output_text.done', { ...at, text, logprobs: [] });
    this.emit('response.content_part.done', { ...at, part });
    const item = messageItem(m.id, status, [part]);
    this.output[m.index] = item;
    this.emit('response.output_item.done', { output_index: m.index, item });
    this.message = undefined;
  }

  private functionCall(call: { id: string; name: string; arguments: string }): void {
    const index = this.output.length;
    const id = newItemId('fc');
    const added = functionCallItem(id, call, 'in_progress');
    this.output.push(added);
    this.emit('response.output_item.added', { output_index: index, item: added });
    const at = { item_id: id, output_index: index };
    this.emit('response.function_call_arguments.delta', { ...at, delta: call.arguments });
    this.emit('response.function_call_arguments.done', { ...at, name: call.name, arguments: call.arguments });
    const done = functionCallItem(id, call, 'completed');
    this.output[index] = done;
    this.emit('response.output_item.done', { output_index: index, item: done });
  }

  /**
   * Queues an event. The events one run event gives rise to (an item closed, the next one opened, the
   * final response) leave together in one write at the next flush: a write per event would take each
   * through the HTTP stack on its own (chunk framing, a buffer, a pass of back-pressure).
   */
  private emit(type: string, payload: Record<string, unknown>): void {
    this.pending += `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...payload })}\n\n`;
  }

  /** An event carrying the response object, already serialised. */
  private emitResponse(type: string, response: string): void {
    this.pending += `event: ${type}\ndata: {"type":"${type}","sequence_number":${this.sequence++},"response":${response}}\n\n`;
  }

  private async flush(): Promise<void> {
    if (!this.pending) return;
    const frames = this.pending;
    this.pending = '';
    await this.sse.frames(frames);
  }
}
