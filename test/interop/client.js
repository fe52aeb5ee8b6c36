#!/usr/bin/env node
// A meterchain client in another language, written from proto/ and docs/INTEGRATING.md,
// docs/ENCODING.md alone: no project code. It makes an SM2 key, signs and submits transactions
// (one call and a batch), waits for their commit, reads receipts and state, and verifies
// everything a light client can verify itself: transaction hashes, signatures, Merkle proofs,
// block hashes, the chain of blocks from genesis, the state roots of its own blocks and every
// commit certificate against the validator keys it was given out of band. It also checks that
// the node refuses a tampered signature and a replayed nonce with the documented gRPC codes.
//
//   node client.js --proto-root DIR --node HOST:PORT --validators HEX[,HEX...]
//                  [--tls-node HOST:PORT --ca FILE [--tls-name NAME]] [--count N]
//
// --proto-root is the directory holding proto/ (the repository root); --validators are the
// validators' SM2 public keys (130 hex characters each) in index order, as the operator hands
// them out (the validators list of the node configuration). Exit code 0 when every check passed,
// 1 with the failed check on stderr otherwise, 2 for a bad command line.
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const { sm2, sm3 } = require('sm-crypto');

// ---- command line ----

function parseArgs(argv) {
  const out = { count: 5 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 17)
        .map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    }
    if (!flag.startsWith('--') || value === undefined) usage(`bad argument '${flag}'`);
    const name = flag.slice(2);
    if (!['proto-root', 'node', 'validators', 'tls-node', 'ca', 'tls-name', 'count'].includes(name)) {
      usage(`unknown flag '${flag}'`);
    }
    out[name] = name === 'count' ? Number(value) : value;
    i++;
  }
  for (const required of ['proto-root', 'node', 'validators']) {
    if (!out[required]) usage(`--${required} is required`);
  }
  if (!!out['tls-node'] !== !!out.ca) usage('--tls-node and --ca go together');
  if (!Number.isInteger(out.count) || out.count < 2 || out.count > 1000) {
    usage('--count must be 2..1000');
  }
  return out;
}

function usage(message) {
  process.stderr.write(`client.js: ${message} (--help for usage)\n`);
  process.exit(2);
}

// ---- small helpers ----

let checks = 0;
function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  checks++;
}

function log(message) {
  process.stdout.write(`[interop] ${message}\n`);
}

const hex = (b) => Buffer.from(b).toString('hex');
const sm3Bytes = (bytes) => Buffer.from(sm3(Array.from(bytes)), 'hex');
const ZERO32 = Buffer.alloc(32);

// ---- the canonical codec of docs/ENCODING.md ----

function u8(n) { return Buffer.from([n]); }
function u32(n) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }
function u64(n) { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; }
function blob(bytes) { return Buffer.concat([u32(bytes.length), Buffer.from(bytes)]); }
function text(s) { return blob(Buffer.from(s, 'utf8')); }
function digest(d) {
  if (d.length !== 32) throw new Error(`digest of ${d.length} bytes`);
  return Buffer.from(d);
}

function headerBytes(h) {
  return Buffer.concat([
    text('meterchain/header/v1'), text(h.chain_id), u64(h.height), digest(h.prev_hash),
    digest(h.tx_root), digest(h.state_root), u32(h.proposer), u64(h.view), u64(h.timestamp_ms),
  ]);
}
const blockHash = (header) => sm3Bytes(headerBytes(header));

function commitVoteBytes(chainId, height, view, hash) {
  return Buffer.concat([text('meterchain/commit/v1'), text(chainId), u64(height), u64(view),
    digest(hash)]);
}

const txSigningBytes = (body) => Buffer.concat([text('meterchain/tx/v1'), blob(body)]);

// ---- SM2 signatures: DER SEQUENCE { INTEGER r, INTEGER s } on the wire ----

// sm-crypto signs into raw r||s (64 hex characters each); nodes expect DER. Minimal encoding:
// no leading zero bytes, one 0x00 added when the top bit is set (the value is positive).
function derInteger(hexValue) {
  let b = Buffer.from(hexValue, 'hex');
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return Buffer.concat([Buffer.from([0x02, b.length]), b]);
}

function rawToDer(rawHex) {
  const body = Buffer.concat([derInteger(rawHex.slice(0, 64)), derInteger(rawHex.slice(64))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

// Strict DER back to raw r||s; null when the encoding is not what rawToDer would produce.
function derToRaw(der) {
  const b = Buffer.from(der);
  if (b.length < 8 || b[0] !== 0x30 || b[1] !== b.length - 2) return null;
  let at = 2;
  const parts = [];
  for (let k = 0; k < 2; k++) {
    if (b[at] !== 0x02) return null;
    const len = b[at + 1];
    const v = b.subarray(at + 2, at + 2 + len);
    if (len === 0 || v.length !== len || len > 33) return null;
    if (v[0] & 0x80) return null;  // negative
    if (len > 1 && v[0] === 0 && !(v[1] & 0x80)) return null;  // not minimal
    parts.push(hex(v).replace(/^0+/, '').padStart(64, '0'));
    at += 2 + len;
  }
  return at === b.length ? parts[0] + parts[1] : null;
}

const SM2_ID = '1234567812345678';  // GB/T 32918 default distinguishing ID, used by meterchain

function sm2Sign(message, key) {
  // hash: true = SM3(Z_A || message) with Z_A from the ID and the public key (GB/T 32918).
  const raw = sm2.doSignature(Array.from(message), key.privateKey,
    { hash: true, publicKey: key.publicKey, userId: SM2_ID });
  return rawToDer(raw);
}

function sm2Verify(message, signatureDer, publicKeyBytes) {
  const raw = derToRaw(signatureDer);
  if (raw === null) return false;
  return sm2.doVerifySignature(Array.from(message), raw, hex(publicKeyBytes),
    { hash: true, userId: SM2_ID });
}

// ---- Merkle tree of docs/ENCODING.md ----

const leafNode = (txHash) => sm3Bytes(Buffer.concat([u8(0), txHash]));
const innerNode = (l, r) => sm3Bytes(Buffer.concat([u8(1), l, r]));

function merkleRoot(txHashes) {
  if (txHashes.length === 0) return ZERO32;
  let level = txHashes.map(leafNode);
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? innerNode(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0];
}

function verifyMerkleProof(txHash, proof, root) {
  let index = BigInt(proof.leaf_index);
  let count = BigInt(proof.leaf_count);
  if (count === 0n || index >= count) return false;
  let node = leafNode(txHash);
  let used = 0;
  while (count > 1n) {
    const sibling = index ^ 1n;
    if (sibling < count) {  // an unpaired last node is promoted without a sibling
      if (used === proof.siblings.length) return false;
      const s = proof.siblings[used++];
      node = index % 2n === 0n ? innerNode(node, s) : innerNode(s, node);
    }
    index /= 2n;
    count = (count + 1n) / 2n;
  }
  return used === proof.siblings.length && node.equals(Buffer.from(root));
}

// ---- commit certificates ----

// f = floor((n-1)/3), quorum = ceil((n+f+1)/2): 3 of 4, 5 of 7.
function quorum(n) {
  const f = Math.floor((n - 1) / 3);
  return Math.floor((n + f + 2) / 2);
}

// Throws unless `cert` finalises `header`: same height and block hash, at least a quorum of
// distinct validators, every signature valid over the COMMIT vote.
function verifyCertificate(cert, header, chainId, validators) {
  const hash = blockHash(header);
  if (String(cert.height) !== String(header.height)) throw new Error('certificate height');
  if (!Buffer.from(cert.block_hash).equals(hash)) throw new Error('certificate names another block');
  const vote = commitVoteBytes(chainId, cert.height, cert.view, cert.block_hash);
  const seen = new Set();
  for (const s of cert.signatures) {
    if (s.validator >= validators.length) throw new Error(`unknown signer ${s.validator}`);
    if (seen.has(s.validator)) throw new Error(`validator ${s.validator} signed twice`);
    if (!sm2Verify(vote, s.signature, validators[s.validator])) {
      throw new Error(`bad commit signature of validator ${s.validator}`);
    }
    seen.add(s.validator);
  }
  if (seen.size < quorum(validators.length)) {
    throw new Error(`${seen.size} of ${quorum(validators.length)} commit signatures`);
  }
}

function throws(fn) {
  try { fn(); } catch (e) { return true; }
  return false;
}

// ---- gRPC ----

function loadProto(protoRoot) {
  const definition = protoLoader.loadSync(path.join(protoRoot, 'proto/node.proto'), {
    includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, bytes: Buffer,
    defaults: true, oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition).meterchain.v1;
  // The signed TxBody is serialized by the client itself: protobufjs from the same .proto file.
  const root = new protobuf.Root().loadSync(path.join(protoRoot, 'proto/chain.proto'),
    { keepCase: true });
  return {
    Node: pkg.Node,
    TxBody: root.lookupType('meterchain.v1.TxBody'),
    StatePut: root.lookupType('meterchain.v1.StatePut'),
    ContractCall: root.lookupType('meterchain.v1.ContractCall'),
  };
}

// Promise of a unary call's response; rejects with the gRPC error (err.code, err.details).
function unary(client, method, request, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (err, response) => {
      if (err) reject(err); else resolve(response);
    });
  });
}

async function expectRefused(promise, code, pattern, what) {
  try {
    await promise;
  } catch (err) {
    check(err.code === code, `${what}: gRPC code ${err.code} (${err.details}), expected ${code}`);
    check(pattern.test(err.details), `${what}: message '${err.details}' matches ${pattern}`);
    return err;
  }
  throw new Error(`check failed: ${what} was accepted`);
}

// ---- the walk ----

const TX_STATE_PUT = 1;
const TX_CONTRACT_CALL = 2;

function makeTx(proto, key, fields) {
  const body = Buffer.from(proto.TxBody.encode(proto.TxBody.create({
    chain_id: fields.chainId,
    type: fields.type,
    payload: fields.payload,
    sender: Buffer.from(key.publicKey, 'hex'),
    nonce: Number(fields.nonce),  // protobufjs takes a number (exact below 2^53) for uint64
    timestamp_ms: Date.now(),
  })).finish());
  return { body, signature: sm2Sign(txSigningBytes(body), key), hash: sm3Bytes(body) };
}

function statePut(proto, key, chainId, nonce, k, v) {
  const payload = proto.StatePut.encode(proto.StatePut.create({ key: k, value: Buffer.from(v) }))
    .finish();
  return makeTx(proto, key, { chainId, type: TX_STATE_PUT, payload, nonce });
}

// The last committed nonce of `sender`: Query state/nonce answers a big-endian u64, NOT_FOUND
// (code 5) for a key that never sent anything.
async function lastNonce(node, sender) {
  try {
    const r = await unary(node, 'Query', { contract: 'state', method: 'nonce', args: sender });
    return Buffer.from(r.result).readBigUInt64BE(0);
  } catch (err) {
    if (err.code === grpc.status.NOT_FOUND) return 0n;
    throw err;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const proto = loadProto(path.resolve(args['proto-root']));
  const validators = args.validators.split(',').map((v) => Buffer.from(v, 'hex'));
  for (const v of validators) check(v.length === 65 && v[0] === 4, 'validator key is 65 bytes 04||x||y');

  const node = new proto.Node(args.node, grpc.credentials.createInsecure());
  const status = await unary(node, 'GetStatus', {});
  const chainId = status.chain_id;
  check(status.validators === validators.length, 'node has the validator count given');
  log(`connected to ${status.name} (validator ${status.validator}) of chain ${chainId}, height ${status.height}`);

  // The node's copy of the validator set (genesis state) agrees with the keys given out of band.
  const stored = await unary(node, 'Query', { contract: 'state', method: 'raw', args: Buffer.from('sys/validators') });
  const storedKeys = stored.result.toString('utf8').trim().split('\n').map((l) => l.split('|')[3]);
  check(storedKeys.join(',') === validators.map(hex).join(','), 'sys/validators lists the given keys in order');

  // A fresh key; its self-check proves the Z value and the DER conversion round trip.
  const key = sm2.generateKeyPairHex();
  const sender = Buffer.from(key.publicKey, 'hex');
  const probe = Buffer.from('probe');
  check(sm2Verify(probe, sm2Sign(probe, key), sender), 'own signature verifies');
  let nonce = await lastNonce(node, sender);
  check(nonce === 0n, 'a fresh key has last committed nonce 0');

  // Submit: one transaction alone, the rest as a batch.
  const txs = [];
  for (let i = 0; i < args.count; i++) {
    txs.push(statePut(proto, key, chainId, ++nonce, `interop/${i}`, `value ${i}`));
  }
  const one = await unary(node, 'SubmitTransaction', { transaction: { body: txs[0].body, signature: txs[0].signature } });
  check(Buffer.from(one.tx_hash).equals(txs[0].hash), 'tx hash = SM3(body)');
  const batch = await unary(node, 'SubmitTransactions', {
    transactions: txs.slice(1).map((t) => ({ body: t.body, signature: t.signature })),
  });
  check(batch.results.length === txs.length - 1, 'one result per batch transaction');
  batch.results.forEach((r, i) => {
    check(r.code === 0, `batch tx ${i + 1} admitted (code ${r.code} ${r.error})`);
    check(Buffer.from(r.tx_hash).equals(txs[i + 1].hash), `batch tx ${i + 1} hash = SM3(body)`);
  });

  // A tampered signature is refused with UNAUTHENTICATED (16), alone and in a batch.
  const forged = statePut(proto, key, chainId, nonce + 1n, 'interop/forged', 'x');
  const bad = Buffer.from(forged.signature);
  bad[Math.floor(bad.length / 2)] ^= 0x01;
  await expectRefused(unary(node, 'SubmitTransaction', { transaction: { body: forged.body, signature: bad } }),
    grpc.status.UNAUTHENTICATED, /signature/, 'tampered signature');
  const badBatch = await unary(node, 'SubmitTransactions', { transactions: [{ body: forged.body, signature: bad }] });
  check(badBatch.results[0].code === grpc.status.UNAUTHENTICATED, 'tampered signature in a batch: code 16');
  // A signature by another key over the same body is refused the same way.
  const other = sm2.generateKeyPairHex();
  await expectRefused(unary(node, 'SubmitTransaction', {
    transaction: { body: forged.body, signature: sm2Sign(txSigningBytes(forged.body), other) },
  }), grpc.status.UNAUTHENTICATED, /signature/, 'signature by another key');
  log('tampered signatures refused with UNAUTHENTICATED');

  // A contract call from a key that is no registered organisation commits and fails with
  // PERMISSION_DENIED (7): the same numbering as refused calls.
  const call = makeTx(proto, key, {
    chainId, type: TX_CONTRACT_CALL, nonce: ++nonce,
    payload: proto.ContractCall.encode(proto.ContractCall.create({ contract: 'governance', method: 'Propose', args: Buffer.alloc(0) })).finish(),
  });
  await unary(node, 'SubmitTransaction', { transaction: { body: call.body, signature: call.signature } });

  // Wait for commit and read the receipts.
  const committed = [];
  for (const t of txs) {
    const st = await unary(node, 'WaitForCommit', { tx_hash: t.hash, timeout_ms: 30000 }, 40000);
    check(st.state === 'COMMITTED' && st.code === 0, `tx ${hex(t.hash).slice(0, 16)} committed (${st.state} ${st.code} ${st.reason})`);
    committed.push(st);
  }
  const failed = await unary(node, 'WaitForCommit', { tx_hash: call.hash, timeout_ms: 30000 }, 40000);
  check(failed.state === 'FAILED', `contract call without an organisation fails (${failed.state})`);
  check(failed.code === grpc.status.PERMISSION_DENIED, `its code is 7 PERMISSION_DENIED (got ${failed.code})`);
  check(/registered organisation/.test(failed.reason), `its reason names the cause: ${failed.reason}`);
  const receipt = await unary(node, 'GetTransaction', { tx_hash: txs[1].hash });
  check(receipt.state === 'COMMITTED' && receipt.height === committed[1].height, 'GetTransaction reads the receipt');
  const value = await unary(node, 'Query', { contract: 'state', method: 'get', args: Buffer.from('interop/1') });
  check(value.result.toString() === 'value 1', 'Query state/get reads the committed value');
  check(await lastNonce(node, sender) === nonce, `last committed nonce is ${nonce}`);
  log(`${txs.length} transactions committed, the contract call failed with code ${failed.code}`);

  // A replayed nonce is refused with INVALID_ARGUMENT (3).
  const replay = statePut(proto, key, chainId, 1n, 'interop/replay', 'y');
  await expectRefused(unary(node, 'SubmitTransaction', { transaction: { body: replay.body, signature: replay.signature } }),
    grpc.status.INVALID_ARGUMENT, /nonce/, 'replayed nonce');
  // The same transaction again is ALREADY_EXISTS (6).
  await expectRefused(unary(node, 'SubmitTransaction', { transaction: { body: txs[0].body, signature: txs[0].signature } }),
    grpc.status.ALREADY_EXISTS, /already/, 'resubmitted transaction');

  // Proof of inclusion, checked here: body, signature, Merkle path, header hash, certificate.
  const target = txs[txs.length - 1];
  const proof = await unary(node, 'GetTxProof', { tx_hash: target.hash });
  check(sm3Bytes(proof.transaction.body).equals(target.hash), 'proof transaction body hashes to the tx hash');
  check(sm2Verify(txSigningBytes(proof.transaction.body), proof.transaction.signature, sender), 'proof transaction signature verifies');
  check(verifyMerkleProof(target.hash, proof.proof, proof.header.tx_root), 'Merkle path leads to tx_root');
  check(!throws(() => verifyCertificate(proof.certificate, proof.header, chainId, validators)), 'commit certificate verifies');
  check(blockHash(proof.header).equals(Buffer.from(committed[committed.length - 1].block_hash)), 'block hash = TxStatus.block_hash');
  // The checks are not vacuous: a changed path, header or signature fails them.
  if (proof.proof.siblings.length > 0) {
    const siblings = proof.proof.siblings.map((s) => Buffer.from(s));
    siblings[0][0] ^= 1;
    check(!verifyMerkleProof(target.hash, { ...proof.proof, siblings }, proof.header.tx_root), 'a changed sibling fails the path');
  }
  check(!verifyMerkleProof(txs[0].hash, proof.proof, proof.header.tx_root) || proof.proof.leaf_count === '1', 'another tx fails the path');
  const otherHeader = { ...proof.header, timestamp_ms: String(BigInt(proof.header.timestamp_ms) + 1n) };
  check(throws(() => verifyCertificate(proof.certificate, otherHeader, chainId, validators)), 'a changed header fails the certificate');
  const sigs = proof.certificate.signatures.map((s) => ({ validator: s.validator, signature: Buffer.from(s.signature) }));
  sigs[0].signature[sigs[0].signature.length - 1] ^= 1;
  check(throws(() => verifyCertificate({ ...proof.certificate, signatures: sigs }, proof.header, chainId, validators)), 'a changed commit signature fails the certificate');
  check(throws(() => verifyCertificate({ ...proof.certificate, signatures: proof.certificate.signatures.slice(0, quorum(validators.length) - 1) }, proof.header, chainId, validators)), 'fewer than a quorum fails the certificate');
  log(`proof of ${hex(target.hash).slice(0, 16)} at height ${proof.header.height} verified (${proof.certificate.signatures.length} commit signatures, quorum ${quorum(validators.length)})`);

  // Stream the chain from genesis to the last of our blocks and check every link.
  const last = committed.concat([failed]).reduce((m, st) => (BigInt(st.height) > m ? BigInt(st.height) : m), 0n);
  const blocks = await streamBlocks(node, 0n, last);
  check(blocks.length === Number(last) + 1, `streamed ${blocks.length} blocks`);
  const genesis = blocks[0];
  check(genesis.header.height === '0', 'genesis is height 0');
  check(Buffer.from(genesis.header.prev_hash).equals(ZERO32), 'genesis previous hash is zero');
  check(Buffer.from(genesis.header.tx_root).equals(ZERO32) && genesis.transactions.length === 0, 'genesis has no transactions, zero tx_root');
  check(genesis.certificate.signatures.length === 0, 'genesis certificate has no signatures');
  check(Buffer.from(genesis.certificate.block_hash).equals(blockHash(genesis.header)), 'genesis certificate names the genesis hash');
  const statuses = new Map();  // tx hash hex -> TxStatus, for our own transactions
  for (const t of txs) statuses.set(hex(t.hash), 'COMMITTED');
  statuses.set(hex(call.hash), 'FAILED');
  let stateRootsChecked = 0;
  for (let i = 1; i < blocks.length; i++) {
    const b = blocks[i];
    const prev = blocks[i - 1];
    check(b.header.chain_id === chainId, `block ${i} chain id`);
    check(Buffer.from(b.header.prev_hash).equals(blockHash(prev.header)), `block ${i} links to block ${i - 1}`);
    const hashes = b.transactions.map((t) => sm3Bytes(t.body));
    check(merkleRoot(hashes).equals(Buffer.from(b.header.tx_root)), `block ${i} tx_root`);
    check(!throws(() => verifyCertificate(b.certificate, b.header, chainId, validators)), `block ${i} certificate`);
    // The state root chains from the previous block's: recomputable here when the block holds
    // only our transactions, whose writes we know.
    const writes = writeSetOf(proto, b, statuses);
    if (writes !== null) {
      const root = sm3Bytes(Buffer.concat([text('meterchain/state/v1'), digest(prev.header.state_root), writeSetDigest(writes)]));
      check(root.equals(Buffer.from(b.header.state_root)), `block ${i} state root recomputed`);
      stateRootsChecked++;
    }
  }
  check(stateRootsChecked > 0, 'at least one state root recomputed');
  log(`blocks 0..${last} streamed and linked, ${blocks.length - 1} certificates verified, ${stateRootsChecked} state roots recomputed`);
  node.close();

  if (args['tls-node']) {
    // The node's certificate (cluster CA) names localhost, 127.0.0.1 and the node's host; a
    // name other than the address's host is given as the TLS target name.
    const options = args['tls-name'] ? { 'grpc.ssl_target_name_override': args['tls-name'] } : {};
    const tls = new proto.Node(args['tls-node'], grpc.credentials.createSsl(fs.readFileSync(args.ca)), options);
    const st = await unary(tls, 'GetStatus', {});
    check(st.chain_id === chainId, 'TLS node is on the same chain');
    // This node may still be behind the one we submitted to: its receipt is awaited first, so
    // that its latest block is one with a commit certificate (not the genesis block).
    const receiptTls = await unary(tls, 'WaitForCommit', { tx_hash: target.hash, timeout_ms: 10000 });
    check(receiptTls.state === 'COMMITTED', 'receipt read over TLS');
    const latest = await unary(tls, 'GetBlock', { latest: true });
    check(!throws(() => verifyCertificate(latest.certificate, latest.header, chainId, validators)), 'latest block over TLS verifies');
    tls.close();
    log(`TLS connection to ${args['tls-node']} verified (cluster CA)`);
  }
  log(`all ${checks} checks passed`);
}

// Blocks from..to (inclusive) from StreamBlocks; the stream is cancelled once `to` arrived.
function streamBlocks(node, from, to) {
  return new Promise((resolve, reject) => {
    const out = [];
    const call = node.StreamBlocks({ from_height: String(from) }, { deadline: Date.now() + 60000 });
    call.on('data', (block) => {
      out.push(block);
      if (BigInt(block.header.height) >= to) {
        call.cancel();
        resolve(out);
      }
    });
    call.on('error', (err) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
    call.on('end', () => reject(new Error(`stream ended after ${out.length} blocks`)));
  });
}

// The write set of block `b` when all its transactions are ours (StatePut committed, or failed:
// then only the nonce is written); null when it holds anything else.
function writeSetOf(proto, b, statuses) {
  const writes = new Map();
  for (const t of b.transactions) {
    const state = statuses.get(hex(sm3Bytes(t.body)));
    if (state === undefined) return null;
    const body = proto.TxBody.decode(t.body);
    // sys/nonce/<lower-case hex of the 65-byte sender> -> U64(nonce), for every executed tx.
    writes.set(`sys/nonce/${hex(body.sender)}`, u64(BigInt(body.nonce.toString())));
    if (state === 'COMMITTED') {
      if (body.type !== TX_STATE_PUT) return null;
      const put = proto.StatePut.decode(body.payload);
      writes.set(`kv/${put.key}`, Buffer.from(put.value));
    }
  }
  return writes;
}

// SM3(Text("meterchain/writeset/v1") U32(count) {Text(key) U8(present) [Blob(value)]}*), keys in
// byte order.
function writeSetDigest(writes) {
  const keys = [...writes.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts = [text('meterchain/writeset/v1'), u32(keys.length)];
  for (const k of keys) parts.push(text(k), u8(1), blob(writes.get(k)));
  return sm3Bytes(Buffer.concat(parts));
}

main().catch((err) => {
  process.stderr.write(`[interop] FAILED: ${err.stack || err}\n`);
  process.exit(1);
});
