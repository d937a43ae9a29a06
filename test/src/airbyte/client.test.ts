import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { AirbyteApiError, AirbyteClient } from '../../../src/airbyte/client';

/** A server answering each request from a script, for the client's error handling. */
async function scripted(
  answers: Array<{ status: number; body?: string; headers?: Record<string, string> }>,
) {
  const seen: string[] = [];
  const server: Server = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    const answer = answers.shift() ?? { status: 500, body: 'script exhausted' };
    response.writeHead(answer.status, answer.headers).end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/public/v1/`;
  return { apiUrl, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('AirbyteClient', () => {
  it('quotes a plain-text error body and truncates a huge one', async () => {
    const server = await scripted([
      { status: 400, body: 'workspaceIds must be UUIDs' },
      { status: 400, body: 'x'.repeat(2000) },
    ]);
    try {
      const client = new AirbyteClient({ apiUrl: server.apiUrl, auth: { token: 't' }, retries: 0 });
      await expect(client.list('source', 'w')).rejects.toThrow(
        'Cannot list sources in workspace w: Airbyte answered HTTP 400: workspaceIds must be UUIDs',
      );
      const error = (await client
        .list('source', 'w')
        .catch((caught: unknown) => caught)) as AirbyteApiError;
      expect(error.airbyteMessage).toHaveLength(501);
      // The trailing slash of the base URL is not doubled.
      expect(server.seen[0]).toBe('GET /api/public/v1/sources?workspaceIds=w&limit=100&offset=0');
    } finally {
      await server.close();
    }
  });

  it('waits as long as Retry-After asks on a 429', async () => {
    const server = await scripted([
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200, body: JSON.stringify({ data: [] }) },
    ]);
    const lines: string[] = [];
    try {
      const client = new AirbyteClient({
        apiUrl: server.apiUrl,
        auth: { token: 't' },
        baseDelayMs: 1,
        log: (line) => lines.push(line),
      });
      await expect(client.list('destination', 'w')).resolves.toEqual([]);
      expect(lines).toEqual([
        expect.stringMatching(/HTTP 429, retrying in 1000 ms \(attempt 2 of 5\)/),
      ]);
    } finally {
      await server.close();
    }
  });

  it('does not retry a 404 and keeps the status for callers to act on', async () => {
    const server = await scripted([
      { status: 404, body: JSON.stringify({ title: 'not-found', detail: 'Source not found' }) },
    ]);
    try {
      const client = new AirbyteClient({
        apiUrl: server.apiUrl,
        auth: { token: 't' },
        baseDelayMs: 1,
      });
      const error = (await client
        .delete('source', 'abc', 'pg')
        .catch((caught: unknown) => caught)) as AirbyteApiError;
      expect(error.status).toBe(404);
      expect(error.message).toBe(
        'Cannot delete source "pg" (abc): Airbyte answered HTTP 404: Source not found',
      );
      expect(server.seen).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('explains an HTML answer as a wrong API URL', async () => {
    const server = await scripted([
      { status: 200, body: '<!doctype html><html><title>Airbyte</title>' },
    ]);
    try {
      const client = new AirbyteClient({ apiUrl: server.apiUrl, auth: { token: 't' } });
      await expect(client.listWorkspaces()).rejects.toThrow(
        /Cannot list workspaces: .* answered HTTP 200 with something that is not JSON \("<!doctype html>.*Check the API URL: http:\/\/HOST:8000\/api\/public\/v1/,
      );
    } finally {
      await server.close();
    }
  });
});
