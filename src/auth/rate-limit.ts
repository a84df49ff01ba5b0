// Requests and tokens per minute per API key, counted in fixed one-minute windows. The counters
// live in a RateLimitStore: in memory for one process, in PostgreSQL when replicas share it.
export interface WindowCounts {
  requests: number;
  tokens: number;
}

export interface RateLimitStore {
  /** Adds to the window's counters and returns the totals after the addition. */
  addToWindow(bucket: string, windowStart: number, add: WindowCounts): Promise<WindowCounts>;
}

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, { start: number; counts: WindowCounts }>();

  async addToWindow(bucket: string, windowStart: number, add: WindowCounts): Promise<WindowCounts> {
    let w = this.windows.get(bucket);
    if (!w || w.start !== windowStart) {
      w = { start: windowStart, counts: { requests: 0, tokens: 0 } };
      this.windows.set(bucket, w);
    }
    w.counts.requests += add.requests;
    w.counts.tokens += add.tokens;
    return { ...w.counts };
  }
}

export interface RateLimitDecision {
  ok: boolean;
  /** Seconds until the window resets, for the Retry-After header. */
  retryAfterSeconds: number;
  limit?: 'requests' | 'tokens';
  /**
   * OpenAI's `x-ratelimit-*` headers, for an answer as for a refusal (OpenAI sends them on every
   * response): each enabled limit, what is left of it, when it resets. None when no limit is set.
   */
  headers?: Record<string, string>;
}

const WINDOW_MS = 60_000;

export class RateLimiter {
  private readonly rpm: number;
  private readonly tpm: number;
  private readonly store: RateLimitStore;
  private readonly now: () => number;

  constructor(limits: { rpm: number; tpm: number }, store: RateLimitStore, now: () => number = Date.now) {
    this.rpm = limits.rpm;
    this.tpm = limits.tpm;
    this.store = store;
    this.now = now;
  }

  get enabled(): boolean {
    return this.rpm > 0 || this.tpm > 0;
  }

  /** Counts one request with its prompt tokens; refuses it when either limit is exceeded. */
  async admit(bucket: string, promptTokens: number): Promise<RateLimitDecision> {
    if (!this.enabled) return { ok: true, retryAfterSeconds: 0 };
    const now = this.now();
    const start = now - (now % WINDOW_MS);
    const retryAfterSeconds = Math.max(1, Math.ceil((start + WINDOW_MS - now) / 1000));
    const counts = await this.store.addToWindow(bucket, start, { requests: 1, tokens: promptTokens });
    const refused = (limit: 'requests' | 'tokens'): RateLimitDecision => ({
      ok: false,
      retryAfterSeconds,
      limit,
      headers: this.headers(counts, retryAfterSeconds),
    });
    if (this.rpm > 0 && counts.requests > this.rpm) return refused('requests');
    // A request is refused for tokens only once the window was already spent before it.
    if (this.tpm > 0 && counts.tokens - promptTokens >= this.tpm) return refused('tokens');
    return { ok: true, retryAfterSeconds: 0, headers: this.headers(counts, retryAfterSeconds) };
  }

  // As OpenAI names them. Both limits share one window, so both reset when it ends; the request
  // was counted, so what remains is never more than the client may really still send.
  private headers(counts: WindowCounts, resetSeconds: number): Record<string, string> {
    const out: Record<string, string> = {};
    const add = (what: 'requests' | 'tokens', limit: number, used: number) => {
      if (limit <= 0) return;
      out[`x-ratelimit-limit-${what}`] = String(limit);
      out[`x-ratelimit-remaining-${what}`] = String(Math.max(0, limit - used));
      out[`x-ratelimit-reset-${what}`] = `${resetSeconds}s`;
    };
    add('requests', this.rpm, counts.requests);
    add('tokens', this.tpm, counts.tokens);
    return out;
  }

  /** Adds the completion tokens of a finished run to its key's window. */
  async spend(bucket: string, tokens: number): Promise<void> {
    if (this.tpm <= 0 || tokens <= 0) return;
    const now = this.now();
    await this.store.addToWindow(bucket, now - (now % WINDOW_MS), { requests: 0, tokens });
  }
}
