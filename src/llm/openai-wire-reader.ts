// The parts of one streamed Chat Completions answer, read from the upstream's answer as it
// arrives: SSE split by hand (src/llm/sse-data.ts), chunks turned into stream parts
// (src/llm/openai-wire-chunks.ts), handed out by `read()` as a web stream reader would.
import { StringDecoder } from 'node:string_decoder';
import { ChatChunkReader, type WireFlavor } from './openai-wire-chunks.ts';
import { bodyError, streamError, type CallInfo } from './openai-wire-errors.ts';
import type { PartReader, StreamPart } from './part-reader.ts';
import { SseDataReader } from './sse-data.ts';
import { isPageContentType, NotAWireAnswerError } from './upstream-error.ts';
import type { AnswerListener, UpstreamAnswer } from './upstream-answer.ts';

const HIGH_WATER = 64;
/**
 * After the finish reason, what may still come is the usage and `[DONE]`, within milliseconds. An
 * upstream that goes silent there instead of ending its answer has given it whole: it ends here
 * rather than being waited on until the call's time limit turns a complete answer into a timeout.
 */
const TRAILER_MS = 1000;

/**
 * The parts of one streamed answer, read from the response body as it arrives. Parts wait in a
 * queue only while the caller is busy (the body is paused when it grows); a waiting `read()` gets
 * the next part directly.
 */
export class ChatPartsReader implements PartReader, AnswerListener {
  private readonly res: UpstreamAnswer;
  private readonly call: CallInfo;
  private readonly sse = new SseDataReader();
  /** The body's bytes as text: a character may be split across two pieces. */
  private readonly decoder = new StringDecoder('utf8');
  private readonly chunks: ChatChunkReader;
  private readonly flavor: WireFlavor;
  private parts: StreamPart[] = [];
  private head = 0;
  private waiter:
    { resolve: (r: ReadableStreamReadResult<StreamPart>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: unknown;
  private paused = false;
  private opening: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private trailer: NodeJS.Timeout | undefined;
  /** Settles once the answer's first output (or its end, or an unreadable chunk) arrived. */
  readonly firstOutput: Promise<void>;

  constructor(res: UpstreamAnswer, flavor: WireFlavor, call: CallInfo) {
    this.res = res;
    this.call = call;
    this.flavor = flavor;
    this.chunks = new ChatChunkReader(flavor, this.push);
    this.firstOutput = new Promise((resolve, reject) => (this.opening = { resolve, reject }));
    if (flavor !== 'openai') this.opened();
    const type = res.headers['content-type'];
    // A proxy's error page is named as such, not read as an answer that happened to be empty.
    if (isPageContentType(type)) {
      this.push({ type: 'error', error: new NotAWireAnswerError(type) });
      this.ended = true;
      res.destroy();
      return;
    }
    res.listen(this);
  }

  read(): Promise<ReadableStreamReadResult<StreamPart>> {
    if (this.head < this.parts.length) {
      const value = this.parts[this.head++]!;
      if (this.head === this.parts.length) {
        this.parts = [];
        this.head = 0;
      }
      if (this.paused && this.parts.length - this.head < HIGH_WATER / 2) this.resume();
      return Promise.resolve({ done: false, value });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (this.paused) this.resume();
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  cancel(): Promise<void> {
    clearTimeout(this.trailer);
    this.ended = true;
    this.parts = [];
    this.head = 0;
    // The answer is abandoned mid-way: the connection cannot be reused, it is closed.
    if (!this.res.complete) this.res.destroy();
    this.settleWaiter();
    return Promise.resolve();
  }

  private resume(): void {
    this.paused = false;
    this.res.resume();
  }

  private readonly push = (part: StreamPart): void => {
    if (part.type === 'error') this.opened();
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: part });
      return;
    }
    this.parts.push(part);
    if (!this.paused && this.parts.length - this.head > HIGH_WATER) {
      this.paused = true;
      this.res.pause();
    }
  };

  readonly data = (piece: Buffer): void => {
    if (this.ended) return;
    this.sse.feed(this.decoder.write(piece), this.onEvent);
    if (this.chunks.finished && !this.ended) this.awaitTrailer();
  };

  private awaitTrailer(): void {
    if (this.trailer) this.trailer.refresh();
    else this.trailer = setTimeout(this.endAfterFinish, TRAILER_MS);
  }

  private readonly endAfterFinish = (): void => {
    this.end();
    if (!this.res.complete) this.res.destroy(); // the connection cannot be reused
  };

  private readonly onEvent = (data: string): void => {
    if (this.ended) return;
    const frame = this.chunks.read(data);
    if (frame) {
      if (this.opening && this.flavor === 'openai' && !this.chunks.sawOutput) {
        const error = streamError(frame, this.call);
        this.opening.reject(error);
        this.opening = undefined;
        void this.cancel();
        return;
      }
      this.chunks.errorFrame(frame);
    }
    if (this.chunks.sawOutput) this.opened();
  };

  readonly end = (): void => {
    clearTimeout(this.trailer);
    if (this.ended) return;
    const rest = this.decoder.end();
    if (rest) this.sse.feed(rest, this.onEvent);
    if (this.ended) return; // the rest held a frame that ended the answer
    this.chunks.end();
    this.ended = true;
    this.opened();
    this.settleWaiter();
  };

  readonly error = (err: unknown): void => this.fail(err);

  private fail(err: unknown): void {
    clearTimeout(this.trailer);
    if (this.ended || this.failure !== undefined) return;
    this.failure = bodyError(err, this.res.status, this.call);
    if (this.opening) {
      this.opening.reject(this.failure);
      this.opening = undefined;
    }
    this.settleWaiter();
  }

  private opened(): void {
    this.opening?.resolve();
    this.opening = undefined;
  }

  private settleWaiter(): void {
    const waiter = this.waiter;
    if (!waiter || this.head < this.parts.length) return;
    this.waiter = undefined;
    if (this.failure !== undefined) waiter.reject(this.failure);
    else waiter.resolve({ done: true, value: undefined });
  }
}
