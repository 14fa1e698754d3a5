/**
 * `--api-key`: every route but `/health` needs `Authorization: Bearer KEY`. Keys are compared through their SHA-256
 * digests with `timingSafeEqual`, so neither the time taken nor the lengths compared tell a caller how much of a
 * guess was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http-errors.js";

/** Routes a load balancer or orchestrator probes without credentials. */
const OPEN_ROUTES = new Set(["/health"]);

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** A check for one request (its path and Authorization header) that throws 401 unless the key matches. */
export function apiKeyCheck(apiKey: string): (path: string, authorization: string | undefined) => void {
  const expected = digest(apiKey);
  return (path, authorization) => {
    if (OPEN_ROUTES.has(path)) return;
    const match = /^Bearer (.+)$/i.exec(authorization ?? "");
    if (match && timingSafeEqual(digest(match[1]), expected)) return;
    throw new HttpError(401, match ? "Incorrect API key provided." : "Missing API key: send Authorization: Bearer <key>.", "invalid_api_key",
      null, { "www-authenticate": "Bearer" });
  };
}
