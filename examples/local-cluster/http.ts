/** A tiny JSON-over-HTTP client for the examples (Node's fetch, a timeout on every request). */

export interface JsonResponse {
  readonly status: number;
  /** The parsed body; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
}

/** Sends one request; rejects only when no HTTP answer came (refused, reset, timed out). */
export async function requestJson(
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<JsonResponse> {
  const res = await fetch(url, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  let parsed: unknown = text === '' ? undefined : text;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: the caller gets the text (an error page, a proxy's message) to show as is.
    }
  }
  return { status: res.status, body: parsed };
}

/** A short, human description of a failed request or response, for error messages. */
export function describeFailure(what: string, outcome: JsonResponse | Error): string {
  if (outcome instanceof Error) {
    const cause = (outcome as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `${outcome.message} (${cause.message})` : outcome.message;
    return `${what}: ${detail}`;
  }
  const b = outcome.body;
  const msg = typeof b === 'object' && b !== null && 'error' in b ? JSON.stringify(b.error) : JSON.stringify(b);
  return `${what}: HTTP ${outcome.status}${msg === undefined ? '' : ` ${msg.slice(0, 200)}`}`;
}

/** `value` as a plain object, or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
