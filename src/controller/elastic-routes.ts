/**
 * The elastic routes of the control server (protocol/elastic.ts): grow, shrink, the satellites'
 * list and a satellite's start report. Token already checked by the server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseGrowRequest, parseSatelliteStarted, parseShrinkRequest } from '../protocol/elastic.js';
import { HttpError, readJson, sendJson } from '../protocol/http.js';
import type { Satellites } from './satellites.js';

/** Longest one GET /v1/satellites/<id>?waitMs may block (the CLI asks again). */
const MAX_WAIT_MS = 600_000;

function parsed<T>(parse: (x: unknown) => T, x: unknown): T {
  try {
    return parse(x);
  } catch (err) {
    throw new HttpError(400, (err as Error).message, 'bad-request');
  }
}

/** Serves one request if its route is elastic; false otherwise. */
export async function handleElastic(
  sats: Satellites | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (!path.startsWith('/v1/satellites') && path !== '/v1/shrink') return false;
  if (sats === undefined)
    throw new HttpError(409, 'the cluster is still forming: grow and shrink it once it is ready', 'not-holding');
  if (path === '/v1/satellites' && method === 'GET') return json(res, { satellites: sats.satellites() });
  if (path === '/v1/satellites' && method === 'POST') {
    const body = parsed(parseGrowRequest, await readJson(req));
    return json(res, await sats.grow(body, body.reason ?? 'by hand (raysl grow)'));
  }
  const started = /^\/v1\/satellites\/(s\d+)\/started$/.exec(path);
  if (started && method === 'POST')
    return json(res, await sats.started(started[1] as string, parsed(parseSatelliteStarted, await readJson(req))));
  const one = /^\/v1\/satellites\/([A-Za-z0-9]+)$/.exec(path);
  if (one && method === 'GET') {
    const raw = Number(url.searchParams.get('waitMs') ?? 0);
    return json(
      res,
      await sats.waitFor(one[1] as string, Number.isFinite(raw) ? Math.min(MAX_WAIT_MS, Math.max(0, raw)) : 0),
    );
  }
  if (path === '/v1/shrink' && method === 'POST') {
    const body = parsed(parseShrinkRequest, await readJson(req));
    const reason = body.reason ?? 'by hand (raysl shrink)';
    const targets = body.targets.map((t) =>
      sats.satellites().some((s) => s.id === t || s.slurmJobId === t) ? { satellite: t } : { node: t },
    );
    await Promise.all(targets.map((t) => sats.shrink(t, reason, body.drainTimeoutMs)));
    return json(res, { satellites: sats.satellites() });
  }
  throw new HttpError(404, `no route ${method} ${path}`, 'not-found');
}

function json(res: ServerResponse, body: unknown): true {
  sendJson(res, 200, body);
  return true;
}
