// Calls to the service. The API key, when the service has one, is asked for once and kept in this tab's
// sessionStorage; it is sent as the X-API-Key header on every call and every stream, never in a URL.
import { SseParser } from './sse.js';

const KEY_ITEM = 'mosaic.apiKey';
let keyPrompt = null;
let askForKey = async () => { throw new Error('no key prompt'); };

/** The page supplies the prompt: a function (reason) => Promise<string> that resolves with the key typed. */
export function onKeyNeeded(prompt) {
  askForKey = prompt;
}

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY_ITEM);
  return key ? { ...extra, 'X-API-Key': key } : extra;
}

/** One prompt for all the calls that found the key missing or wrong at the same time. */
async function renewKey(response) {
  const problem = await readProblem(response);
  const hadKey = sessionStorage.getItem(KEY_ITEM) !== null;
  sessionStorage.removeItem(KEY_ITEM);
  if (!keyPrompt) {
    keyPrompt = askForKey(hadKey ? problem.detail || 'The key was refused.' : '')
      .then((key) => sessionStorage.setItem(KEY_ITEM, key))
      .finally(() => { keyPrompt = null; });
  }
  await keyPrompt;
}

/** fetch() with the key; a 401 asks for the key and tries again. Other answers are the caller's to read. */
export async function request(path, { method = 'GET', body, signal, accept } = {}) {
  for (;;) {
    const extra = {};
    if (body !== undefined) extra['Content-Type'] = 'application/json';
    if (accept) extra.Accept = accept;
    const response = await fetch(path, {
      method,
      headers: headers(extra),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
    if (response.status !== 401) return response;
    await renewKey(response);
  }
}

/** GET a JSON document; throws an Error with the problem's detail when the answer is not a success. */
export async function getJson(path, options) {
  const response = await request(path, options);
  if (!response.ok) throw new ApiError(response.status, await readProblem(response));
  return response.json();
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** The problem+json body of a failed answer, or a stand-in when it has none. */
export async function readProblem(response) {
  try {
    const problem = await response.clone().json();
    return problem && typeof problem === 'object' ? problem : { title: `HTTP ${response.status}` };
  } catch {
    return { title: `HTTP ${response.status}`, detail: `The service answered ${response.status} ${response.statusText}.` };
  }
}

/**
 * Reads a Server-Sent Events stream with fetch() and a ReadableStream, reconnecting (with Last-Event-ID, so nothing is
 * missed) until signal aborts or onEvent returns false. onOpen(reconnect) runs each time the stream is (re)opened.
 */
export async function follow(path, { onEvent, onOpen = () => {}, onState = () => {}, signal }) {
  let lastId = null;
  let reconnect = false;
  let delay = 500;
  while (!signal.aborted) {
    let stop = false;
    try {
      onState('connecting');
      const response = await fetch(path, {
        headers: headers(lastId ? { Accept: 'text/event-stream', 'Last-Event-ID': lastId } : { Accept: 'text/event-stream' }),
        signal,
        cache: 'no-store',
      });
      if (response.status === 401) {
        await renewKey(response);
        continue;
      }
      if (!response.ok) {
        const problem = await readProblem(response);
        onState('error', problem.detail || `HTTP ${response.status}`);
        if (response.status === 404) return;
      } else {
        onState('live');
        onOpen(reconnect);
        delay = 500;
        const parser = new SseParser((event) => {
          if (event.id) lastId = event.id;
          if (!stop && onEvent(event) === false) stop = true;
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        while (!stop) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value);
        }
        if (stop) {
          await reader.cancel();
          onState('ended');
          return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      onState('error', error.message);
    }
    reconnect = true;
    onState('reconnecting');
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 10000);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
