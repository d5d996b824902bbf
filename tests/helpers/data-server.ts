/**
 * A local HTTP server for the data tests: files with Range support, servers that misbehave
 * (ignore Range, drop the connection, answer 404/500) and a mimic of the Hub's two parquet
 * listings. CORS is open because the browser tests load their page from another origin.
 *
 *   /files/<name>                          the file, with Range (206) and HEAD
 *   /norange/files/<name>                  ignores Range: 200 and the whole file
 *   /drop/files/<name>                     sends half the body, then destroys the socket
 *   /status/<code>/files/<name>            answers <code>
 *   /stall/files/<name>                    headers and half the body, then silence (socket kept open)
 *   /stall-headers/files/<name>            accepts the request and never answers
 *   setStall('body' | 'headers')           the same for every /files/ request, until setStall(undefined)
 *   /datasets-server/parquet?dataset=<id>  {"parquet_files": [{dataset, config, split, url, filename, size}]}
 *   /hub/api/datasets/<id>/parquet         {"<config>": {"<split>": ["url", ...]}}
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DatasetFile {
  config: string;
  split: string;
  name: string;
  bytes: Uint8Array;
  /** Listed under a behaviour prefix ('/drop', '/norange', '/status/500'), to fail mid-dataset. */
  prefix?: string;
}

export interface DataServer {
  url: string;
  requests: { path: string; method: string; range?: string }[];
  /** Serves `content` at /files/<name> (and under every behaviour prefix). */
  add(name: string, content: Uint8Array | string): void;
  /** Lists files for a Hub dataset id; `viewer: false` makes the datasets-server answer 404 for it. */
  addDataset(id: string, files: DatasetFile[], options?: { viewer?: boolean }): void;
  /** Makes every file request stall (as under /stall or /stall-headers); undefined ends it. */
  setStall(mode: Stall | undefined): void;
  close(): Promise<void>;
}

type Behaviour = 'norange' | 'drop' | 'stall' | 'stall-headers';
export type Stall = 'body' | 'headers';

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges',
};

export async function startDataServer(): Promise<DataServer> {
  const files = new Map<string, Uint8Array>();
  const datasets = new Map<string, { files: DatasetFile[]; viewer: boolean }>();
  const requests: DataServer['requests'] = [];
  let base = '';
  let stall: Stall | undefined;

  const datasetFilePath = (id: string, f: DatasetFile) => `hub/${id}/${f.config}/${f.split}/${f.name}`;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', base);
    const range = req.headers.range;
    requests.push({ path: url.pathname + url.search, method: req.method ?? 'GET', ...(range ? { range } : {}) });
    for (const [key, value] of Object.entries(CORS_HEADERS)) res.setHeader(key, value);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': 'Range, Content-Type, Accept',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }

    const path = url.pathname;
    if (path === '/datasets-server/parquet') return viewerListing(url.searchParams, res);
    const hubMatch = /^\/hub\/api\/datasets\/(.+)\/parquet$/.exec(path);
    if (hubMatch) return hubListing(decodeURIComponent(hubMatch[1]!), res);

    const match = /^(?:\/(norange|drop|stall|stall-headers)|\/status\/(\d{3}))?\/files\/(.+)$/.exec(path);
    const bytes = match ? files.get(decodeURIComponent(match[3]!)) : undefined;
    if (match?.[2]) return send(res, Number(match[2]), `status ${match[2]} on purpose`);
    if (!match || !bytes) return send(res, 404, 'not found');
    const forced = stall === 'body' ? 'stall' : stall === 'headers' ? 'stall-headers' : undefined;
    serveFile(req, res, bytes, (match[1] as Behaviour | undefined) ?? forced);
  }

  function serveFile(req: IncomingMessage, res: ServerResponse, bytes: Uint8Array, behaviour?: Behaviour): void {
    // Silence with the socket open: only the client's deadline (or close()) ends the request.
    if (behaviour === 'stall-headers') return;
    const head = req.method === 'HEAD';
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream' };
    if (behaviour !== 'norange') headers['Accept-Ranges'] = 'bytes';
    let status = 200;
    let body = bytes;
    const range = behaviour === 'norange' ? undefined : req.headers.range;
    if (range && !head) {
      const parsed = parseRange(range, bytes.length);
      if (!parsed) {
        res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` });
        res.end();
        return;
      }
      status = 206;
      body = bytes.subarray(parsed.start, parsed.end + 1);
      headers['Content-Range'] = `bytes ${parsed.start}-${parsed.end}/${bytes.length}`;
    }
    headers['Content-Length'] = body.length;
    res.writeHead(status, headers);
    if (head) return void res.end();
    if (behaviour === 'drop') {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => req.socket.destroy(), 5));
      return;
    }
    if (behaviour === 'stall') {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      return;
    }
    res.end(body);
  }

  function viewerListing(params: URLSearchParams, res: ServerResponse): void {
    const id = params.get('dataset') ?? '';
    const dataset = datasets.get(id);
    if (!dataset || !dataset.viewer) return sendJson(res, 404, { error: 'The dataset does not exist.' });
    const config = params.get('config');
    const parquet_files = dataset.files
      .filter((f) => config === null || f.config === config)
      .map((f) => ({
        dataset: id,
        config: f.config,
        split: f.split,
        url: `${base}${f.prefix ?? ''}/files/${datasetFilePath(id, f)}`,
        filename: f.name,
        size: f.bytes.length,
      }));
    sendJson(res, 200, { parquet_files, pending: [], failed: [], partial: false });
  }

  function hubListing(id: string, res: ServerResponse): void {
    const dataset = datasets.get(id);
    if (!dataset) return sendJson(res, 404, { error: 'Repository not found' });
    const listing: Record<string, Record<string, string[]>> = {};
    for (const f of dataset.files) {
      const splits = (listing[f.config] ??= {});
      (splits[f.split] ??= []).push(`${base}${f.prefix ?? ''}/files/${datasetFilePath(id, f)}`);
    }
    sendJson(res, 200, listing);
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    add(name, content) {
      const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
      files.set(name.replace(/^\/?(files\/)?/, ''), bytes);
    },
    addDataset(id, list, options = {}) {
      datasets.set(id, { files: list, viewer: options.viewer ?? true });
      for (const f of list) files.set(datasetFilePath(id, f), f.bytes);
    },
    setStall(mode) {
      stall = mode;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n`; undefined when it cannot be satisfied. */
function parseRange(header: string, length: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, length - Number(match[2]));
    end = length - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? length - 1 : Math.min(Number(match[2]), length - 1);
  }
  return start <= end && start < length ? { start, end } : undefined;
}

function send(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json');
}
