// What one upstream call hands its reader: the provider's stream parts, pulled one at a time. A
// `ReadableStream` reader is one; a model that can answer without web streams offers `openParts`
// and hands back its own (src/llm/openai-wire.ts). The wrappers around a model (the silence guard,
// the fallback) pass `openParts` on, so that the call reads the upstream without a web-stream layer
// per wrapper; any other model is read through its `doStream()`, as before.
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';
import { isPageContentType, NotAWireAnswerError } from './upstream-error.ts';

export type StreamPart = LanguageModelV3StreamPart;

export interface PartReader {
  read(): Promise<ReadableStreamReadResult<StreamPart>>;
  /** The rest of the answer is not wanted: stop reading and release the connection. */
  cancel(reason?: unknown): Promise<void>;
}

/** A model that can also be read as parts directly, without `doStream()`'s web streams. */
export interface PartSource extends LanguageModelV3 {
  openParts(options: LanguageModelV3CallOptions): Promise<PartReader>;
}

export function offersParts(model: LanguageModelV3): model is PartSource {
  return typeof (model as Partial<PartSource>).openParts === 'function';
}

/** One call's parts: through the model's own reader when it offers one, else through `doStream()`. */
export function openParts(model: LanguageModelV3, options: LanguageModelV3CallOptions): Promise<PartReader> {
  if (offersParts(model)) return model.openParts(options);
  return Promise.resolve(model.doStream(options)).then(readerOf);
}

/**
 * The parts of a `doStream()` result. A 200 labelled as a page (a proxy's error page) fails as
 * such, named by its content type, as the lean OpenAI-wire reader fails it: the provider's own
 * parser would read it as a stream without events, an "empty answer" that names nothing.
 */
export function readerOf(result: LanguageModelV3StreamResult): PartReader {
  const type = result.response?.headers?.['content-type'];
  if (!isPageContentType(type)) return result.stream.getReader();
  void result.stream.cancel().catch(() => {});
  let read = false;
  const error: StreamPart = { type: 'error', error: new NotAWireAnswerError(type) };
  return {
    read: () =>
      Promise.resolve(read ? { done: true, value: undefined } : ((read = true), { done: false, value: error })),
    cancel: () => Promise.resolve(),
  };
}

/** A part reader as a web stream, for callers of `doStream()` that want one. */
export function asReadableStream(reader: PartReader): ReadableStream<StreamPart> {
  return new ReadableStream<StreamPart>({
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
