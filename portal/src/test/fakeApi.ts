import { vi } from "vitest";

/** A JSON answer of the fake API. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

export type Call = { method: string; path: string; body: unknown };

/** Replaces `fetch` with a fake API answering `answers["METHOD /path"]` (404 otherwise) and
 * recording every call; the returned objects stay live (add answers, read calls). Undo with
 * `vi.unstubAllGlobals()`. */
export function fakeApi(answers: Record<string, () => Response>): { calls: Call[]; answers: Record<string, () => Response> } {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = new URL(String(input), "http://portal.test");
      const method = init.method ?? "GET";
      calls.push({ method, path: url.pathname, body: init.body ? JSON.parse(String(init.body)) : undefined });
      const answer = answers[`${method} ${url.pathname}`];
      return answer ? answer() : json(404, { error: { code: "not_found", message: `no mock for ${url.pathname}` } });
    }),
  );
  return { calls, answers };
}
