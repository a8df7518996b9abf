// Slack's Web API played by nock: every call recorded (method, and the form body with `blocks` decoded), with
// plausible answers. Failures can be queued per method.
import nock from 'nock';

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
  /** what the fake answered */
  response?: Record<string, unknown>;
}

export interface FakeSlackApi {
  calls: ApiCall[];
  /** the next call of `method` answers { ok: false, error } */
  failNext(method: string, error: string): void;
  scope: nock.Scope;
}

function decode(raw: unknown): Record<string, unknown> {
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(text) as Record<string, unknown>;
  } catch {
    fields = Object.fromEntries(new URLSearchParams(text));
  }
  for (const key of ['blocks', 'view']) {
    if (typeof fields[key] === 'string') fields[key] = JSON.parse(fields[key]);
  }
  return fields;
}

export function fakeSlackApi(): FakeSlackApi {
  const calls: ApiCall[] = [];
  const failures = new Map<string, string[]>();
  let ts = 0;
  const scope = nock('https://slack.com')
    .persist()
    .post(/^\/api\/[a-zA-Z.]+$/)
    .reply((uri, raw) => {
      const method = uri.replace('/api/', '');
      const call: ApiCall = { method, body: decode(raw) };
      calls.push(call);
      call.response = answer(method, call.body, failures.get(method)?.shift(), ++ts);
      return [200, call.response];
    });
  return {
    calls,
    scope,
    failNext(method, error) {
      failures.set(method, [...(failures.get(method) ?? []), error]);
    },
  };
}

function answer(method: string, body: Record<string, unknown>, error: string | undefined, seq: number): Record<string, unknown> {
  if (error) return { ok: false, error };
  switch (method) {
    case 'chat.postMessage':
      return { ok: true, channel: body.channel, ts: `${1740823000 + seq}.000100`, message: {} };
    case 'chat.update':
      return { ok: true, channel: body.channel, ts: body.ts };
    case 'chat.postEphemeral':
      return { ok: true, message_ts: '1.0' };
    case 'views.open':
      return { ok: true, view: { id: 'V0DENY' } };
    default:
      return { ok: false, error: 'unknown_method' };
  }
}
