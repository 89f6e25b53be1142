// Plays the Learner Credential Wallet in the VC-API exchange of "Add to wallet", against the
// live app, then verifies what it received with DCC's verifier-core (the wallet's verifier).
//
// usage: node wallet.mjs LCW_LINK
//   LCW_LINK  https://lcw.app/request.html?request={"credentialRequestOrigin":..,"protocols":{"vcapi":..}}
// 1. new Ed25519 key, its did:key; 2. POST {} to the exchange: a DIDAuthentication request;
// 3. a presentation from the did:key, signed (eddsa-rdfc-2022, authentication, challenge,
// domain), POSTed back; 4. the credential in the answer, checked by DCC's verifier.
// Prints a line "@@REPORT@@{...}"; exits 0, or 2 on misuse.
import {fetched, refused} from './loopback_only.mjs';
import {verifyCredential as dccVerifyCredential} from '@digitalcredentials/verifier-core';
import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as credentialsContext from '@digitalbazaar/credentials-context';

const link = process.argv[2];
if(!link) {
  console.error('usage: node wallet.mjs LCW_LINK');
  process.exit(2);
}
const request = JSON.parse(new URL(link).searchParams.get('request'));
const exchange = request.protocols.vcapi;

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST', headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify(body)
  });
  return {status: response.status, body: await response.json()};
}

async function documentLoader(url) {
  if(credentialsContext.contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: credentialsContext.contexts.get(url)};
  }
  throw new Error(`refusing to load ${url}`);
}

const report = {exchange};
const keyPair = await Ed25519Multikey.generate();
const did = `did:key:${keyPair.publicKeyMultibase}`;
keyPair.controller = did;
keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
report.did = did;

const first = await post(exchange, {});
report.request = first.body;
const vpr = first.body.verifiablePresentationRequest;
if(!vpr) {
  // Refused at the first step (e.g. a revoked badge): report the answer as it is.
  report.status = first.status;
  report.answer = first.body;
  console.log('\n@@REPORT@@' + JSON.stringify(report));
  process.exit(0);
}
const presentation = vc.createPresentation({holder: did});
const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: eddsaRdfc2022});
const signed = await vc.signPresentation({
  presentation, suite, documentLoader, challenge: vpr.challenge, domain: vpr.domain
});
report.presentation = signed;

// A presentation with the wrong challenge must be refused.
const replay = await vc.signPresentation({
  presentation: vc.createPresentation({holder: did}), suite, documentLoader,
  challenge: 'not-the-challenge', domain: vpr.domain
});
report.wrongChallenge = await post(vpr.interact.service[0].serviceEndpoint,
  {verifiablePresentation: replay});

const second = await post(vpr.interact.service[0].serviceEndpoint,
  {verifiablePresentation: signed});
report.status = second.status;
report.answer = second.body;
const credential = second.body.verifiablePresentation?.verifiableCredential?.[0];
if(credential) {
  const result = await dccVerifyCredential({credential, knownDIDRegistries: []});
  const log = Object.fromEntries((result.log || []).map(e => [e.id, e]));
  report.dcc = {
    signature: log.valid_signature ? log.valid_signature.valid === true : false,
    expired: log.expiration ? log.expiration.valid === false : null,
    revoked: log.revocation_status && !log.revocation_status.error ?
      log.revocation_status.valid === false : null,
    errors: (result.errors || []).map(e => `${e.name}: ${e.message}`)
  };
}
report.fetched = [...new Set(fetched)];
report.refused = [...new Set(refused)];
console.log('\n@@REPORT@@' + JSON.stringify(report));
