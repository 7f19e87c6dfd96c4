// Example tco-gateway client: authorize a card payment, look the sale up,
// refund part of it, and check two refusals and their google.rpc details.
//
// Loads the contract straight from ../../proto with @grpc/proto-loader and
// decodes the google.rpc.Status in the grpc-status-details-bin trailer with
// protobufjs, using google/rpc/*.proto from the google-proto-files package.
// Exits non-zero on any unexpected result.
//
// Env: GATEWAY_ADDR (default 127.0.0.1:50051), SIMULATOR_URL (default
// http://127.0.0.1:50052).
//
// Credentials (all optional; with none set the channel is plaintext, what the
// zero-setup gateway on loopback serves): TCO_CA_FILE (PEM roots the server
// certificate must chain to; unset: Node's bundled roots), TCO_CERT_FILE and
// TCO_KEY_FILE (a client certificate and its key, for mTLS; set both or
// neither), TCO_BEARER_TOKEN (sent as `authorization: Bearer <token>` on every
// call), TCO_SERVER_NAME (the name the server certificate is checked against
// when it differs from GATEWAY_ADDR's host). Any of them switches to TLS.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const GATEWAY_ADDR = process.env.GATEWAY_ADDR || '127.0.0.1:50051';
const SIMULATOR_URL = (process.env.SIMULATOR_URL || 'http://127.0.0.1:50052').replace(/\/+$/, '');
const SELLER_ID = '901248156';
const PUBLISHABLE_KEY = 'E4D7B3C1-5A19-4C1F-8E92-6B1D2A7F0C33';
const ERROR_DOMAIN = 'tco-gateway.twocheckout.v1';
const TIMEOUT_MS = 10_000; // per call

const PROTO_DIR = path.resolve(__dirname, '../../proto');
// google-proto-files ships google/rpc/{status,error_details}.proto (and the
// google/protobuf ones they import) under its package root.
const GOOGLE_PROTOS_DIR = path.dirname(require.resolve('google-proto-files/package.json'));

// --- the gateway's contract -------------------------------------------------

const packageDefinition = protoLoader.loadSync(
  ['twocheckout/v1/authorization_service.proto', 'twocheckout/v1/sales_service.proto'],
  {
    includeDirs: [PROTO_DIR],
    keepCase: true, // field names exactly as in the .proto files
    enums: String, // enums by name, e.g. "CURRENCY_USD"
    longs: String,
    defaults: true,
    oneofs: true,
  },
);
const v1 = grpc.loadPackageDefinition(packageDefinition).twocheckout.v1;

// --- google.rpc error details -------------------------------------------------

const rpcRoot = new protobuf.Root();
rpcRoot.resolvePath = (_origin, target) =>
  path.isAbsolute(target) ? target : path.join(GOOGLE_PROTOS_DIR, target);
// keepCase: field names as in the .proto files (type_url, field_violations),
// matching the built-in google/protobuf/any.proto protobufjs substitutes.
rpcRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
const Status = rpcRoot.lookupType('google.rpc.Status');

/** Decodes the google.rpc.Status an error carries, with its details unpacked
 * by type name (ErrorInfo, BadRequest, LocalizedMessage, RetryInfo, ...). */
function decodeStatus(err) {
  const raw = err.metadata && err.metadata.get('grpc-status-details-bin');
  if (!raw || raw.length === 0) throw new StepFailed('error carries no grpc-status-details-bin');
  const status = Status.decode(raw[0]);
  const details = {};
  for (const any of status.details) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1); // google.rpc.ErrorInfo
    const type = rpcRoot.lookupType(typeName);
    details[type.name] = type.toObject(type.decode(any.value), { defaults: true });
  }
  return { code: status.code, message: status.message, details };
}

// --- helpers ------------------------------------------------------------------

class StepFailed extends Error {}

function expect(cond, what) {
  if (!cond) throw new StepFailed(what);
}

const codeName = (code) => Object.keys(grpc.status).find((k) => grpc.status[k] === code) || String(code);

/** Calls a unary method as a promise, with a deadline. */
function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + TIMEOUT_MS }, (err, resp) =>
      err ? reject(err) : resolve(resp),
    );
  });
}

/** Runs call(), which must fail with `code` and an ErrorInfo of `reason`;
 * returns the decoded details. */
async function expectRpcError(call, code, reason) {
  let resp;
  try {
    resp = await call();
  } catch (err) {
    if (err instanceof StepFailed || err.code === undefined) throw err;
    expect(err.code === code, `expected ${codeName(code)}, got ${codeName(err.code)}: ${err.details}`);
    const status = decodeStatus(err);
    const info = status.details.ErrorInfo;
    expect(info, 'no google.rpc.ErrorInfo in the details');
    expect(info.domain === ERROR_DOMAIN, `ErrorInfo.domain ${JSON.stringify(info.domain)}`);
    expect(info.reason === reason, `expected reason ${reason}, got ${JSON.stringify(info.reason)}`);
    console.log(`       ${codeName(err.code)}: ${status.message}`);
    console.log(`       ErrorInfo reason=${info.reason} metadata=${JSON.stringify(info.metadata)}`);
    return status.details;
  }
  throw new StepFailed(`expected ${codeName(code)} / ${reason}, but the call succeeded: ${JSON.stringify(resp)}`);
}

/** Gets a single-use card token from the simulator's 2co.js stand-in. */
async function getCardToken() {
  const res = await fetch(`${SIMULATOR_URL}/checkout/api/1/${SELLER_ID}/rs/tokenService`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      sellerId: SELLER_ID,
      publishableKey: PUBLISHABLE_KEY,
      ccNo: '4000000000000002',
      expMonth: '12',
      expYear: '2030',
      cvv: '123',
    }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = await res.json();
  expect(res.ok, `token service answered HTTP ${res.status}: ${JSON.stringify(body)}`);
  const token = body && body.response && body.response.token && body.response.token.token;
  expect(typeof token === 'string' && token.length > 0, `no token in ${JSON.stringify(body)}`);
  return token;
}

// --- the channel ----------------------------------------------------------------

const CREDENTIAL_ENV = ['TCO_CA_FILE', 'TCO_CERT_FILE', 'TCO_KEY_FILE', 'TCO_BEARER_TOKEN', 'TCO_SERVER_NAME'];

/** The contents of the file the environment variable names, or null when it is unset. */
function readFileOf(variable) {
  const file = process.env[variable];
  return file ? fs.readFileSync(file) : null;
}

/** TLS credentials (mTLS with a client certificate, plus a bearer token) when any of
 * CREDENTIAL_ENV is set, else plaintext; with the client options and a description. */
function channelCredentials() {
  if (!CREDENTIAL_ENV.some((name) => process.env[name])) {
    return { credentials: grpc.credentials.createInsecure(), options: {}, transport: 'plaintext' };
  }
  if (Boolean(process.env.TCO_CERT_FILE) !== Boolean(process.env.TCO_KEY_FILE)) {
    throw new Error('set both TCO_CERT_FILE and TCO_KEY_FILE (a client certificate and its key), or neither');
  }
  let credentials = grpc.credentials.createSsl(
    readFileOf('TCO_CA_FILE'), readFileOf('TCO_KEY_FILE'), readFileOf('TCO_CERT_FILE'));
  const transport = ['TLS'];
  if (process.env.TCO_CERT_FILE) transport.push(`client certificate ${process.env.TCO_CERT_FILE}`);
  const token = process.env.TCO_BEARER_TOKEN;
  if (token) {
    // Sent as `authorization: Bearer <token>` with every call (never printed).
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.add('authorization', `Bearer ${token}`);
      callback(null, metadata);
    });
    credentials = grpc.credentials.combineChannelCredentials(credentials, bearer);
    transport.push('bearer token');
  }
  const options = {};
  if (process.env.TCO_SERVER_NAME) {
    options['grpc.ssl_target_name_override'] = process.env.TCO_SERVER_NAME;
    options['grpc.default_authority'] = process.env.TCO_SERVER_NAME;
  }
  return { credentials, options, transport: transport.join(', ') };
}

// --- the scenario -------------------------------------------------------------

async function main() {
  const { credentials, options, transport } = channelCredentials();
  const auth = new v1.AuthorizationService(GATEWAY_ADDR, credentials, options);
  const sales = new v1.SalesService(GATEWAY_ADDR, credentials, options);
  const state = {};

  const refundRequest = (amount, comment) => ({
    request_id: crypto.randomUUID(),
    sale_id: state.saleId,
    amount,
    currency: 'REFUND_CURRENCY_USD',
    comment,
    category: 'REFUND_CATEGORY_DID_NOT_LIKE_ITEM',
  });

  const steps = [
    ['get a card token', async () => {
      state.token = await getCardToken();
      console.log(`       token ${state.token.slice(0, 8)}… from ${SIMULATOR_URL}`);
    }],
    ['authorize 25.00 USD', async () => {
      const merchantOrderId = `example-node-${crypto.randomUUID().slice(0, 12)}`;
      const resp = await unary(auth, 'Authorize', {
        request_id: crypto.randomUUID(),
        merchant_order_id: merchantOrderId,
        token: state.token,
        currency: 'CURRENCY_USD',
        total: '25.00',
        billing_address: {
          name: 'Testing Tester',
          address_line_1: '123 Test St',
          city: 'Columbus',
          state: 'OH',
          zip_code: '43123',
          country: 'USA',
          email: 'example@2co.com',
          phone_number: '5555555555',
        },
      });
      expect(resp.response_code === 'APPROVED', `response_code ${JSON.stringify(resp.response_code)}`);
      expect(resp.order_number, 'no order_number');
      expect(resp.merchant_order_id === merchantOrderId, 'merchant_order_id not echoed');
      state.saleId = resp.order_number;
      state.transactionId = resp.transaction_id;
      console.log(`       APPROVED: order_number=${resp.order_number} transaction_id=${resp.transaction_id} total=${resp.total}`);
    }],
    ['get the new sale', async () => {
      const { sale } = await unary(sales, 'GetSale', { sale_id: state.saleId });
      expect(sale && sale.sale_id === state.saleId, `sale_id ${JSON.stringify(sale && sale.sale_id)}`);
      expect(sale.invoices.length === 1, `expected 1 invoice, got ${sale.invoices.length}`);
      const inv = sale.invoices[0];
      expect(inv.invoice_id === state.transactionId,
        `invoice_id ${inv.invoice_id} != transaction_id ${state.transactionId}`);
      console.log(`       sale ${sale.sale_id}: 1 invoice ${inv.invoice_id} (${inv.vendor_status}, usd_total ${inv.usd_total})`);
    }],
    ['refund 10.00 USD', async () => {
      const resp = await unary(sales, 'RefundInvoice', refundRequest('10.00', 'Example client: partial refund.'));
      expect(resp.message === 'refund added to invoice', `message ${JSON.stringify(resp.message)}`);
      console.log(`       10.00 USD refunded: ${JSON.stringify(resp.message)}`);
    }],
    ['refund 100.00 USD is refused (TOO_HIGH)', async () => {
      const details = await expectRpcError(
        () => unary(sales, 'RefundInvoice', refundRequest('100.00', 'Example client: too much.')),
        grpc.status.FAILED_PRECONDITION, 'TOO_HIGH');
      const vendorCode = details.ErrorInfo.metadata.vendorCode;
      expect(vendorCode === 'TOO_HIGH', `metadata vendorCode ${JSON.stringify(vendorCode)}`);
    }],
    ['refund with an empty comment is refused (INVALID_FIELD)', async () => {
      const details = await expectRpcError(
        () => unary(sales, 'RefundInvoice', refundRequest('1.00', '')),
        grpc.status.INVALID_ARGUMENT, 'INVALID_FIELD');
      const bad = details.BadRequest;
      expect(bad, 'no google.rpc.BadRequest in the details');
      const fields = bad.field_violations.map((v) => v.field);
      expect(fields.length === 1 && fields[0] === 'comment', `BadRequest fields ${JSON.stringify(fields)}`);
      console.log(`       BadRequest field=${fields[0]}: ${bad.field_violations[0].description}`);
    }],
  ];

  console.log(`tco-gateway Node example against ${GATEWAY_ADDR} (${transport})`);
  let passed = 0;
  let failed = 0;
  for (const [i, [name, fn]] of steps.entries()) {
    console.log(`[${i + 1}/${steps.length}] ${name}`);
    try {
      await fn();
    } catch (err) {
      const what = err instanceof StepFailed ? err.message
        : err.code !== undefined && err.details !== undefined ? `${codeName(err.code)}: ${err.details}`
          : err && err.cause ? `${err.message}: ${err.cause.message || err.cause.code || err.cause}`
            : String((err && err.stack) || err);
      console.log(`  FAIL ${what}`);
      // Later steps depend on earlier ones: stop at the first failure.
      const skipped = steps.length - i - 1;
      failed += 1 + skipped;
      if (skipped) console.log(`  (skipping the ${skipped} remaining step(s), counted as failed)`);
      break;
    }
    console.log('  ok');
    passed += 1;
  }
  auth.close();
  sales.close();
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); console.log('0 passed, 1 failed'); process.exitCode = 1; },
);
