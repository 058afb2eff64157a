// Logto's Twilio SMS connector (packages/connectors/connector-twilio-sms), reimplemented.
//
// Same config JSON as in Logto's admin console:
//   { accountSID, authToken, fromMessagingServiceSID, disableRiskCheck?, templates: [{usageType, content}] }
// Same request: POST {apiBase}/2010-04-01/Accounts/{accountSID}/Messages.json, HTTP Basic
// accountSID:authToken, form fields To (E.164, '+' prepended), MessagingServiceSid, Body, RiskCheck.
// Same failure: a Twilio HTTP error becomes ConnectorError `connector.general` carrying Twilio's body.

export const TWILIO_API_BASE = 'https://api.twilio.com';

// Usage types Logto's connector config must define (others are allowed; a missing one falls back to Generic).
export const REQUIRED_USAGE_TYPES = ['Register', 'SignIn', 'ForgotPassword', 'Generic'];

// Logto's default templates (the ones the admin console pre-fills).
export const DEFAULT_TEMPLATES = [
  { usageType: 'SignIn', content: 'Your Logto sign-in verification code is {{code}}. The code will remain active for 10 minutes.' },
  { usageType: 'Register', content: 'Your Logto sign-up verification code is {{code}}. The code will remain active for 10 minutes.' },
  { usageType: 'ForgotPassword', content: 'Your Logto password change verification code is {{code}}. The code will remain active for 10 minutes.' },
  { usageType: 'Generic', content: 'Your Logto verification code is {{code}}. The code will remain active for 10 minutes.' },
];

export class ConnectorError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code; // connector.general, connector.invalid_config, connector.template_not_found
  }
}

/** Throws ConnectorError('connector.invalid_config') with every problem found. */
export function validateTwilioConfig(config) {
  const problems = [];
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConnectorError('connector.invalid_config', 'Twilio connector config must be a JSON object');
  }
  for (const key of ['accountSID', 'authToken', 'fromMessagingServiceSID']) {
    if (typeof config[key] !== 'string' || config[key] === '') problems.push(`${key} must be a non-empty string`);
  }
  if (config.disableRiskCheck !== undefined && typeof config.disableRiskCheck !== 'boolean') {
    problems.push('disableRiskCheck must be a boolean');
  }
  if (!Array.isArray(config.templates)) {
    problems.push('templates must be an array of {usageType, content}');
  } else {
    config.templates.forEach((t, i) => {
      if (typeof t?.usageType !== 'string' || typeof t?.content !== 'string') {
        problems.push(`templates[${i}] must have string usageType and content`);
      }
    });
    const types = new Set(config.templates.map((t) => t?.usageType));
    const missing = REQUIRED_USAGE_TYPES.filter((u) => !types.has(u));
    if (missing.length) problems.push(`templates must include usage types ${missing.join(', ')}`);
  }
  if (problems.length) {
    throw new ConnectorError('connector.invalid_config', `invalid Twilio connector config: ${problems.join('; ')}`);
  }
  return config;
}

export function renderTemplate(templates, usageType, payload) {
  const template = templates.find((t) => t.usageType === usageType)
    ?? templates.find((t) => t.usageType === 'Generic');
  if (!template) throw new ConnectorError('connector.template_not_found', `Cannot find template for type: ${usageType}`);
  // Logto's replaceSendMessageHandlebars: {{key}} -> payload[key]
  return template.content.replaceAll(/{{\s*(\w+)\s*}}/g, (m, key) => (key in payload ? String(payload[key]) : m));
}

/** The Twilio connector. `sendMessage({to, type, payload: {code}})` like Logto's connector API. */
export function createTwilioConnector(config, { apiBase = TWILIO_API_BASE } = {}) {
  validateTwilioConfig(config);
  const { accountSID, authToken, fromMessagingServiceSID, templates, disableRiskCheck } = config;
  const base = apiBase.replace(/\/+$/, '');
  return {
    id: 'twilio-short-message-service',
    apiBase: base,
    async sendMessage({ to, type, payload }) {
      const form = new URLSearchParams({
        To: to.startsWith('+') ? to : `+${to}`,
        MessagingServiceSid: fromMessagingServiceSID,
        Body: renderTemplate(templates, type, payload),
        RiskCheck: disableRiskCheck ? 'disable' : 'enable',
      });
      let res;
      try {
        res = await fetch(`${base}/2010-04-01/Accounts/${encodeURIComponent(accountSID)}/Messages.json`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${accountSID}:${authToken}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: form.toString(),
        });
      } catch (e) {
        throw new ConnectorError('connector.general', `Twilio request failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
      }
      const text = await res.text();
      if (!res.ok) throw new ConnectorError('connector.general', text);
      return text;
    },
  };
}

/** No connector configured: print each SMS as one JSON line on stdout (demo mode). */
export function createDemoConnector({ templates = DEFAULT_TEMPLATES, write = (l) => process.stdout.write(l) } = {}) {
  return {
    id: 'demo-stdout',
    apiBase: null,
    async sendMessage({ to, type, payload }) {
      const body = renderTemplate(templates, type, payload);
      write(`${JSON.stringify({ sms: { to: to.startsWith('+') ? to : `+${to}`, body } })}\n`);
      return '';
    },
  };
}
