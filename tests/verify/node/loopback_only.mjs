// Imported first by the harnesses: every HTTP request of the verifier libraries goes through
// `fetch` (undici); this wrapper lets requests to loopback through (the live app under test)
// and refuses every other host, recording both, so a test can show what was fetched.
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
export const fetched = [];
export const refused = [];
const realFetch = globalThis.fetch;

globalThis.fetch = async function loopbackOnlyFetch(input, init) {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if(!LOOPBACK.has(url.hostname)) {
    refused.push(url.href);
    throw new TypeError(`refused to fetch ${url.href}: only loopback is allowed`);
  }
  fetched.push(url.href);
  return realFetch(input, init);
};
