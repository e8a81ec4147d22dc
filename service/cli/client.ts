import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../lib/config.js';
import { SluiceError, type SluiceErrorCode } from '../../lib/errors.js';

/** Where the CLI finds the service: flags, then SLUICE_URL/SLUICE_TOKEN, then `<data root>/cli.json`. */
export interface ClientConfig {
  url: string;
  token: string | null;
  /** Where the URL came from (`SLUICE_URL`, a cli.json path, …), for "what to do next" messages. */
  source?: string;
}

/** The data root the CLI reads `cli.json` from: SLUICE_DATA_ROOT, default `./.sluice`. */
export function dataRootDir(): string {
  return resolve(loadConfig().dataRoot);
}

/** Reads the client configuration. */
export function clientConfig(flags: { url?: string | undefined; token?: string | undefined } = {}): ClientConfig {
  let file: { url?: string; token?: string } = {};
  const p = join(dataRootDir(), 'cli.json');
  if (existsSync(p)) {
    try {
      file = JSON.parse(readFileSync(p, 'utf8')) as typeof file;
    } catch {
      throw new SluiceError('SLUICE_ERR_INPUT_INVALID', `${p}: expected JSON with url and token, found a file that does not parse; fix it or run \`sluice init --force\``);
    }
  }
  // An empty variable (`SLUICE_URL= sluice …`) counts as unset, as in most CLIs.
  const { serviceUrl: envUrl, serviceToken: envToken } = loadConfig();
  const url = flags.url || envUrl || file.url;
  const source = flags.url ? '--url' : envUrl ? 'SLUICE_URL' : file.url ? p : 'the default';
  return {
    url: (url || 'http://127.0.0.1:8700').replace(/\/$/, ''),
    token: flags.token || envToken || file.token || null,
    source,
  };
}

/** A record of every response body the client saw (tests scan them for raw values). */
export type ResponseTap = (route: string, body: string) => void;

/** A thin typed client of the Sluice HTTP API. */
export class SluiceClient {
  constructor(readonly config: ClientConfig, private readonly tap?: ResponseTap) {}

  /** Same client, other token (the demo acts as several people). */
  as(token: string): SluiceClient {
    return new SluiceClient({ ...this.config, token }, this.tap);
  }

  /** Sends a request; an error response becomes a SluiceError with the service's code and message. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    this.tap?.(`${method} ${path}`, text);
    const json = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new SluiceError((err?.code as SluiceErrorCode) ?? 'SLUICE_ERR_INTERNAL', err?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  /** The raw fetch, for streams and downloads. */
  async raw(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.config.token) headers['authorization'] = `Bearer ${this.config.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(this.config.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      // The connection failed (refused, no route, DNS): the service is down or the URL is stale.
      const from = this.config.source ? ` (the URL is from ${this.config.source})` : '';
      throw new SluiceError(
        'SLUICE_ERR_SERVICE_UNREACHABLE',
        `the Sluice service at ${this.config.url} is unreachable${from}; start it with \`sluice serve\`, or point SLUICE_URL at a running one`,
      );
    }
  }

  /** Follows a run's progress events until it finishes or waits for review. */
  async *events(runId: string): AsyncGenerator<RunView> {
    const res = await this.raw('GET', `/v1/runs/${encodeURIComponent(runId)}/events`);
    if (!res.ok || !res.body) {
      const text = await res.text();
      this.tap?.(`GET events`, text);
      const err = (JSON.parse(text || '{}') as { error?: { code?: string; message?: string } }).error;
      throw new SluiceError((err?.code as SluiceErrorCode) ?? 'SLUICE_ERR_INTERNAL', err?.message ?? `HTTP ${res.status}`);
    }
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (data) {
          this.tap?.('GET events', data.slice(6));
          yield JSON.parse(data.slice(6)) as RunView;
        }
      }
    }
  }
}

/** A run as the API shows it. */
export interface RunView {
  id: string;
  specName: string;
  agreementId: string;
  status: string;
  submittedBy: string;
  errorCode: string | null;
  errorMessage: string | null;
  steps: { id: string; kind: string; status: string; progress: number; rows: number | null; artifactHash: string | null; fusedInto?: string | null; errorCode: string | null; errorMessage: string | null }[];
}
