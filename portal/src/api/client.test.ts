import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, CSRF_HEADER, buildHeaders, errorFromResponse, readCookie, request, setUnauthorizedListener, withQuery } from "./client";

function jsonResponse(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function clearCookies() {
  for (const part of document.cookie.split(";")) {
    const name = part.split("=")[0].trim();
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`;
  }
}

describe("readCookie", () => {
  it("finds one cookie among several", () => {
    expect(readCookie("ias_csrf", "a=1; ias_csrf=tok-123; b=2")).toBe("tok-123");
    expect(readCookie("ias_csrf", "ias_csrf_other=x")).toBeNull();
    expect(readCookie("ias_csrf", "")).toBeNull();
    expect(readCookie("x", "x=a%20b")).toBe("a b");
  });
});

describe("buildHeaders (CSRF double submit)", () => {
  const cookies = "ias_csrf=csrf-value; other=1";
  it.each(["POST", "PUT", "PATCH", "DELETE", "post"])("%s sends X-CSRF-Token", (method) => {
    expect(buildHeaders(method, true, cookies)[CSRF_HEADER]).toBe("csrf-value");
  });
  it.each(["GET", "HEAD", "OPTIONS"])("%s does not", (method) => {
    expect(buildHeaders(method, false, cookies)[CSRF_HEADER]).toBeUndefined();
  });
  it("omits the header when there is no cookie", () => {
    expect(buildHeaders("POST", true, "other=1")).not.toHaveProperty(CSRF_HEADER);
  });
  it("declares JSON only with a body", () => {
    expect(buildHeaders("POST", true, "")["Content-Type"]).toBe("application/json");
    expect(buildHeaders("DELETE", false, "")["Content-Type"]).toBeUndefined();
  });
});

describe("withQuery", () => {
  it("drops empty parameters and encodes the rest", () => {
    expect(withQuery("/api/x", { a: "1", b: undefined, c: null, d: "", e: "a b&c" })).toBe("/api/x?a=1&e=a+b%26c");
    expect(withQuery("/api/x", {})).toBe("/api/x");
  });
});

describe("request", () => {
  const fetchMock = vi.fn();
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal("fetch", fetchMock);
    document.cookie = "ias_csrf=from-cookie; path=/";
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    setUnauthorizedListener(null);
    clearCookies();
  });

  it("sends the CSRF cookie value on writes, same-origin credentials, JSON body", async () => {
    fetchMock.mockResolvedValue(jsonResponse(201, { id: "k1" }));
    const out = await request<{ id: string }>("POST", "/api/org/o1/key", { body: { name: "ci" } });
    expect(out).toEqual({ id: "k1" });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/org/o1/key");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("same-origin");
    expect(init.headers[CSRF_HEADER]).toBe("from-cookie");
    expect(JSON.parse(init.body)).toEqual({ name: "ci" });
  });

  it("sends no CSRF header on reads", async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { data: [], count: 0 }));
    await request("GET", "/api/org", { query: { limit: 10 } });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/org?limit=10");
    expect(init.headers[CSRF_HEADER]).toBeUndefined();
    expect(init.credentials).toBe("same-origin");
  });

  it("answers undefined for 204", async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await expect(request("DELETE", "/api/model/m1")).resolves.toBeUndefined();
    expect(fetchMock.mock.calls[0][1].headers[CSRF_HEADER]).toBe("from-cookie");
  });

  it("turns the API's error body into an ApiError with its message", async () => {
    fetchMock.mockResolvedValue(jsonResponse(409, { error: { code: "key_name_taken", message: "an active key of yours has this name" } }));
    const err = (await request("POST", "/api/org/o1/key", { body: { name: "x" } }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(409);
    expect(err.code).toBe("key_name_taken");
    expect(err.message).toBe("an active key of yours has this name");
  });

  it("reports a 401 as the end of the session, unless quiet", async () => {
    const listener = vi.fn();
    setUnauthorizedListener(listener);
    fetchMock.mockResolvedValue(jsonResponse(401, { error: { code: "unauthorized", message: "no valid session" } }));
    await expect(request("GET", "/api/org")).rejects.toThrow("no valid session");
    expect(listener).toHaveBeenCalledTimes(1);
    await expect(request("POST", "/api/auth/login", { body: {}, quiet401: true })).rejects.toThrow();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("explains a network failure", async () => {
    fetchMock.mockRejectedValue(new TypeError("Failed to fetch"));
    await expect(request("GET", "/api/org")).rejects.toMatchObject({ code: "network_error" });
  });
});

describe("errorFromResponse", () => {
  it("adds field details of a validation error", async () => {
    const err = await errorFromResponse(
      jsonResponse(400, {
        error: { code: "invalid_request", message: "invalid request body", details: [{ loc: ["body", "name"], msg: "Field required" }] },
      }),
    );
    expect(err.message).toBe("invalid request body (name: Field required)");
  });
  it("falls back to a readable message without a body", async () => {
    const err = await errorFromResponse(new Response("<html>bad gateway</html>", { status: 502 }));
    expect(err.code).toBe("http_502");
    expect(err.message).toMatch(/unavailable/);
  });
});
