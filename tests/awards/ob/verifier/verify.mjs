// Independent check of an Open Badges 3.0 credential signed by Portfolio, with Digital Bazaar's
// Verifiable Credentials libraries (eddsa-rdfc-2022 Data Integrity proofs).
//
// usage: node verify.mjs CREDENTIAL.json CONTROLLER.json CONTEXTS.json [STATUS.json]
//   CONTROLLER.json  the issuer's DID / controller document (lists the Multikey keys)
//   CONTEXTS.json    {"<context URL>": "<path of the local copy>"}: the only contexts served
//   STATUS.json      optional 1EdTech revocation list: {"revokedCredential": [{"id": ...}]}
// Prints a JSON report; exits 0 when verified, 1 when not, 2 on a usage error.
// Nothing is fetched from the network: any other URL is refused by the document loader.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

const [credentialPath, controllerPath, contextsPath, statusPath] = process.argv.slice(2);
if(!credentialPath || !controllerPath || !contextsPath) {
  console.error('usage: node verify.mjs CREDENTIAL.json CONTROLLER.json CONTEXTS.json [STATUS.json]');
  process.exit(2);
}
const credential = readJson(credentialPath);
const controller = readJson(controllerPath);
const contexts = Object.fromEntries(
  Object.entries(readJson(contextsPath)).map(([url, path]) => [url, readJson(path)]));

async function documentLoader(url) {
  if(url in contexts) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(contexts[url])};
  }
  if(url === controller.id) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(controller)};
  }
  const method = (controller.verificationMethod || []).find(m => m.id === url);
  if(method) {
    return {
      contextUrl: null, documentUrl: url,
      document: {'@context': MULTIKEY_V1, ...structuredClone(method)}
    };
  }
  throw new Error(`refusing to load ${url}: not a local document`);
}

let statusChecked = false;
async function checkStatus({credential}) {
  const status = credential.credentialStatus;
  if(status.type === 'BitstringStatusListEntry' && !statusPath) {
    // A W3C status list is fetched from the live issuer: tests/verify/test_live_verifiers.py.
    return {verified: true};
  }
  if(status.type !== '1EdTechRevocationList') {
    return {verified: false, error: new Error(`unsupported status type ${status.type}`)};
  }
  if(!statusPath) {
    return {verified: true};
  }
  statusChecked = true;
  const revoked = (readJson(statusPath).revokedCredential || []).some(
    entry => entry.id === credential.id);
  return revoked ?
    {verified: false, error: new Error('credential is revoked')} : {verified: true};
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
    if(e.errors) {
      walk(e.errors);
    }
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

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
let result;
try {
  result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
} catch(e) {
  result = {verified: false, error: e};
}
const report = {verified: result.verified === true, statusChecked, errors: errorsOf(result)};
console.log(JSON.stringify(report, null, 2));
process.exit(report.verified ? 0 : 1);
