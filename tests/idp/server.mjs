// `npm start`: runs the Logto-like IdP. First stdout line: one JSON "ready" object. Stops on SIGTERM.
// In demo mode (no SMS connector) every later stdout line is one {"sms":{to, body}} object.
// Env: PORT, IDP_CONFIG, IDP_TWILIO=stand-in, TWILIO_CONFIG, TWILIO_API_BASE, TWILIO_FAIL_NUMBERS,
//      IDP_KEYS_FILE, IDP_ALSO_RSA, IDP_TEST_API, IDP_QUIET (see README.md).
import { loadConfig, readConfigFile } from './src/config.mjs';
import { createDemoConnector, createTwilioConnector, DEFAULT_TEMPLATES, TWILIO_API_BASE } from './src/twilio-connector.mjs';
import { startIdp } from './src/idp.mjs';
import { startTwilioStandIn, TEST_CREDENTIALS } from './twilio-stand-in.mjs';

const env = process.env;

async function main() {
  const config = loadConfig(env.IDP_CONFIG || undefined);
  if (env.IDP_KEYS_FILE) config.keysFile = env.IDP_KEYS_FILE;
  if (env.IDP_ALSO_RSA === '1') config.alsoRsa = true;

  // SMS connector: IDP_TWILIO=stand-in > TWILIO_CONFIG > config "sms" > demo mode (stdout).
  let standIn = null;
  let twilioConfig = env.TWILIO_CONFIG ? readConfigFile(env.TWILIO_CONFIG) : config.sms?.twilio;
  let apiBase = env.TWILIO_API_BASE || config.sms?.apiBase || TWILIO_API_BASE;
  if (env.IDP_TWILIO === 'stand-in') {
    standIn = await startTwilioStandIn({ failNumbers: (env.TWILIO_FAIL_NUMBERS ?? '').split(',').filter(Boolean) });
    twilioConfig ??= { ...TEST_CREDENTIALS, templates: DEFAULT_TEMPLATES };
    apiBase = standIn.url;
  } else if (env.IDP_TWILIO) {
    throw new Error(`IDP_TWILIO must be "stand-in" (got "${env.IDP_TWILIO}")`);
  }
  const connector = twilioConfig ? createTwilioConnector(twilioConfig, { apiBase }) : createDemoConnector();

  const idp = await startIdp({
    config,
    connector,
    port: Number(env.PORT ?? 0),
    testApi: env.IDP_TEST_API !== '0' && config.testApi !== false,
    quiet: env.IDP_QUIET === '1',
  });
  process.stdout.write(`${JSON.stringify({
    ready: true,
    issuer: idp.issuer,
    endpoint: idp.endpoint,
    port: idp.port,
    clients: config.clients.map((c) => c.client_id),
    resources: config.resources.map((r) => r.indicator),
    organizations: config.organizations.map((o) => ({ id: o.id, members: o.members })),
    twilio: standIn?.url ?? (twilioConfig && apiBase !== TWILIO_API_BASE ? connector.apiBase : null),
    demoSms: !twilioConfig,
    par: config.par,
    deviceFlow: config.deviceFlow,
    endSession: config.endSession,
    revocationAuth: config.revocationAuth,
  })}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all([idp.close(), standIn?.close()]);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`[idp] cannot start: ${e.message}\n`);
  process.exit(2);
});
