// The Responses API: POST /v1/responses opens the same run as a chat completion (src/run/chat-run.ts)
// and renders it as a `response` object or its semantic events; GET/DELETE /v1/responses/{id},
// POST /v1/responses/{id}/cancel and GET /v1/responses/{id}/input_items serve what was kept.
// A response is stored with its run's end, in the same write as its turn (with `store: false`,
// neither is); while it runs, this process answers for it from the registry below.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { StatelessMemory } from '../../conversation/stateless.ts';
import { ChatRun } from '../../run/chat-run.ts';
import type { StoredResponse } from '../../store/types.ts';
import type { AppDeps } from '../deps.ts';
import { ApiError, invalidRequest, notFound, serverError } from '../errors.ts';
import { answerResponse, finalResponse, JSON_TYPE, type ResponseOutlet } from '../render/responses-json.ts';
import { newItemId, responseIdOfRun, responseObject, type ResponseObject } from '../render/responses-object.ts';
import { streamResponse } from '../render/responses-sse.ts';
import { checkId } from '../resource-ids.ts';
import { watchClient } from '../client-gone.ts';
import { inResponsesTerms, type MessageOrigin } from '../responses-params.ts';
import { continueUnkept } from '../responses-unkept.ts';
import { parseResponsesRequest } from '../responses-request.ts';
import { CANCEL_REQUESTED, checkServable } from '../run-limits.ts';
import { conversationIdOfKey } from '../../conversation/conversation-keys.ts';
import { checkpointSealOf, type CheckpointSeal } from '../../run/sealed-checkpoint.ts';
import type { SealedItem } from '../responses-request.ts';
import { settled, type LiveResponse } from '../live-responses.ts';

const responseNotFound = (id: string) =>
  notFound(`Response with id '${id}' not found.`, 'response_not_found', 'response_id');

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).optional(),
});

export function registerResponses(app: FastifyInstance, deps: AppDeps): void {
  const running = new Map<string, LiveResponse>();
  // `store: false`: the turn's memory keeps nothing (locks still order turns in this process).
  // Its context is fitted to the window as a kept conversation's is (`truncation`).
  const forgetful = new StatelessMemory({ tokens: deps.tokens, maxContextTokens: deps.config.maxContextTokens });
  const store = deps.store;
  const checkpointSeal = checkpointSealOf(store);

  app.post('/v1/responses', async (request, reply) => {
    // One signal stops the run whether the client went away or POST .../cancel asked (which one is
    // told by `cancelled`): an AbortSignal.any of two would cost its weak references on every request.
    // Watched before the first await below (the previous response looked up, the seal's key read):
    // a client that leaves meanwhile must not leave a run going for nobody, holding its slot.
    const stop = watchClient(reply.raw);
    let cancelled = false;
    const { chat, echo, inputItems, sealed, sealsCheckpoints, ...parsed } = parseResponsesRequest(request.body);
    let origins: readonly (MessageOrigin | undefined)[] = parsed.origins;
    try {
      checkServable(chat, deps);
    } catch (err) {
      throw inResponsesTerms(err, origins); // its checks name chat's parameters
    }
    const owner = request.owner ?? '';
    const keep = echo.store && store !== undefined;
    // Asked for only by clients that keep their own state (OpenAI's `include`), or that send it back:
    // a sealed checkpoint resumes its run whether or not this response is kept.
    const seal = sealsCheckpoints || sealed.length ? await checkpointSeal() : undefined;
    const brought = seal ? carried(seal, owner, sealed) : [];
    if (echo.previousResponseId) {
      // Still running here: it is waited for, as its conversation's turn would be, then read as stored.
      const live = running.get(echo.previousResponseId);
      if (live?.owner === owner)
        await settled(live, echo.previousResponseId, deps.config.conversationWaitSeconds, stop.signal);
      const previous = await store?.getResponse(echo.previousResponseId, owner);
      if (!previous)
        throw invalidRequest(
          `Previous response with id '${echo.previousResponseId}' not found.`,
          'previous_response_id',
          'previous_response_not_found',
        );
      // The context is that response and what came before it, not what its conversation went on
      // to say after it: naming an older response forks there (a new conversation, the original kept).
      const end = await store!.turnEndOf(previous.conversationId, previous.runId);
      // Kept: the turn builds on the end of that response's turn, continuing the conversation if
      // that is still its end when the turn holds it, else branching there. Not kept: it is read,
      // its paused run resumed if the request answers it, and nothing is added.
      if (keep && end !== undefined) chat.buildsOn = { conversationId: previous.conversationId, depth: end };
      else if (keep) chat.conversationId = conversationIdOfKey(previous.conversationId);
      else {
        const continued = await continueUnkept(store!, owner, previous, end, { messages: chat.messages, origins });
        chat.messages = continued.messages;
        origins = continued.origins;
        brought.push(...continued.carried);
      }
    }

    // Disposed after the run (declared before it): the response stays findable here until its run is
    // recorded and released, whichever path records it, and `done` means it is stored (or deleted).
    let unregister: (() => void) | undefined;
    await using _registered = { [Symbol.asyncDispose]: async () => unregister?.() };
    await using run = await ChatRun.open(deps, chat, {
      owner: request.owner,
      log: request.log,
      clientGone: stop.signal,
      ...(keep ? {} : { memory: forgetful }),
      ...(brought.length ? { carried: brought } : {}),
    }).catch((err: unknown) => {
      throw inResponsesTerms(err, origins);
    });
    // A kept response is named after its run (the store finds it through the run); one that is not
    // kept gets an id nobody can look up, as OpenAI's `store: false` responses.
    const id = keep ? responseIdOfRun(run.runIds[0]) : newItemId('resp');
    const head = {
      id,
      createdAt: Math.floor(Date.now() / 1000),
      model: chat.model,
      echo,
      ...(keep ? { conversationId: run.conversationId } : {}),
      runId: run.runIds[0],
    };
    let final: ResponseObject | undefined;
    let finalJson: string | undefined;
    const outlet: ResponseOutlet = {
      head,
      ...(sealsCheckpoints ? { sealCheckpoint: (checkpoint) => seal!.seal(owner, checkpoint) } : {}),
      isCancelled: () => cancelled,
      final: () => (final ??= finalResponse(run, outlet)),
      finalJson: () => (finalJson ??= JSON.stringify(outlet.final())),
    };
    let finished!: () => void;
    const entry: LiveResponse = {
      owner,
      inputItems,
      snapshot: () => final ?? responseObject(head, { status: 'in_progress', output: outlet.streamed ?? [] }),
      cancel: () => {
        cancelled = true;
        stop.abort(CANCEL_REQUESTED);
      },
      deleted: false,
      done: new Promise<void>((resolve) => (finished = resolve)),
    };
    // Kept with the run's end, in the same write: a response is stored exactly when its turn is.
    // Not kept (`store: false`): it is not listed either, so GET, cancel and delete do not find it.
    if (keep) {
      run.recordWith(() => {
        if (entry.deleted) return undefined;
        return {
          id,
          owner,
          conversationId: run.conversationId,
          runId: run.runIds[0],
          status: outlet.final().status,
          body: outlet.finalJson(),
          inputItems: JSON.stringify(inputItems),
          createdAt: new Date(head.createdAt * 1000).toISOString(),
        };
      });
      running.set(id, entry);
    }
    unregister = () => {
      if (keep) running.delete(id);
      finished();
    };
    try {
      return chat.stream ? await streamResponse(run, reply, deps, outlet) : await answerResponse(run, reply, outlet);
    } catch (err) {
      if (!(err instanceof ApiError)) request.log.error({ err }, 'response failed');
      throw run.error(err instanceof ApiError ? err : serverError());
    }
  });

  /** A response of this owner: the running one, else the stored one; another owner's is not found. */
  async function find(id: string, owner: string): Promise<{ live: LiveResponse } | { stored: StoredResponse }> {
    checkId(id, 'response_id');
    const live = running.get(id);
    if (live && live.owner === owner && !live.deleted) return { live };
    const stored = await store?.getResponse(id, owner);
    if (!stored) throw responseNotFound(id);
    return { stored };
  }

  /** A response as it stands: the live snapshot, or the stored JSON text as it was sent. */
  function render(found: { live: LiveResponse } | { stored: StoredResponse }, reply: FastifyReply) {
    if ('live' in found) return found.live.snapshot();
    reply.type(JSON_TYPE); // a string with this type is sent as it is, not serialised again
    return found.stored.body;
  }

  app.get<{ Params: { id: string }; Querystring: { stream?: string } }>('/v1/responses/:id', async (request, reply) => {
    // OpenAI streams a background response's events again; here no response runs in the background
    // (each is streamed by the request that creates it): refused by name, not answered as JSON.
    if (request.query.stream === 'true')
      throw invalidRequest(
        "Unsupported parameter: 'stream' is not supported when retrieving a response: responses are not run in the background here; one is streamed by the request that creates it.",
        'stream',
        'unsupported_parameter',
      );
    return render(await find(request.params.id, request.owner ?? ''), reply);
  });

  app.delete<{ Params: { id: string } }>('/v1/responses/:id', async (request) => {
    const { id } = request.params;
    const owner = request.owner ?? '';
    const found = await find(id, owner);
    if ('live' in found) {
      found.live.deleted = true; // never saved once it ends
      found.live.cancel();
      // Its final write may already be under way, the response in it: deleted once that has landed.
      await found.live.done;
    }
    await store?.deleteResponse(id, owner);
    return { id, object: 'response', deleted: true };
  });

  app.post<{ Params: { id: string } }>('/v1/responses/:id/cancel', async (request, reply) => {
    const found = await find(request.params.id, request.owner ?? '');
    if (!('live' in found)) return render(found, reply); // already ended: as it ended
    found.live.cancel();
    await found.live.done; // stopped, recorded and stored
    return found.live.snapshot();
  });

  app.get<{ Params: { id: string } }>('/v1/responses/:id/input_items', async (request) => {
    const found = await find(request.params.id, request.owner ?? '');
    const inputItems: Record<string, unknown>[] =
      'live' in found ? found.live.inputItems : JSON.parse(found.stored.inputItems);
    const parsed = listQuery.safeParse(request.query ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const param = String(issue.path[0] ?? 'query');
      throw invalidRequest(`Invalid '${param}': ${issue.message}.`, param, 'invalid_value');
    }
    const { limit, order, after } = parsed.data;
    const items = order === 'asc' ? inputItems : [...inputItems].reverse();
    const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
    if (after && start === 0)
      throw invalidRequest(`No input item with id '${after}' in this response.`, 'after', 'invalid_value');
    const data = items.slice(start, start + limit);
    return {
      object: 'list',
      data,
      first_id: (data[0]?.id as string) ?? null,
      last_id: (data.at(-1)?.id as string) ?? null,
      has_more: start + limit < items.length,
    };
  });
}

/** The checkpoints the client carries back, each sealed here for this key, or a 400 naming the one that is not. */
function carried(seal: CheckpointSeal, owner: string, items: SealedItem[]) {
  return items.map((item) => {
    const checkpoint = seal.open(owner, item.text);
    if (!checkpoint)
      throw invalidRequest(
        `The encrypted content of '${item.param.replace(/\.encrypted_content$/, '')}' could not be verified: ` +
          'send back the reasoning item as this server returned it, with the same API key.',
        item.param,
        'invalid_encrypted_content',
      );
    return checkpoint;
  });
}
