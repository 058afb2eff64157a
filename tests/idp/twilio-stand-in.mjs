// Stand-in for the Twilio Messages API, for tests only. Listens on 127.0.0.1.
//
//   POST   /2010-04-01/Accounts/{AccountSid}/Messages.json   Twilio's send-SMS call (checked like Twilio)
//   GET    /messages[?to=+1555…]      every recorded message, oldest first
//   GET    /messages/last?to=+1555…   {to, body, code, …} of the newest message to that number, or 404
//   DELETE /messages                  forget all messages
//
// Run alone:  node twilio-stand-in.mjs   -> first stdout line {"ready":true,"twilio":"http://127.0.0.1:PORT",…}
// Env: TWILIO_STAND_IN_PORT (0), TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (the accepted credentials,
// default the test ones below), TWILIO_FAIL_NUMBERS (comma list of numbers answered with error 21610).
import http from 'node:http';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const TEST_CREDENTIALS = Object.freeze({
  accountSID: 'AC00000000000000000000000000000000',
  authToken: 'test-auth-token',
  fromMessagingServiceSID: 'MG00000000000000000000000000000000',
});

const twilioError = (res, status, code, message) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
};
const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
// A query string '+' means space in form encoding; a phone number never has a space, so restore it.
const queryPhone = (url) => {
  const to = url.searchParams.get('to');
  return to == null ? null : to.trim().replace(/^(\d)/, '+$1');
};

export function startTwilioStandIn({
  port = 0,
  accountSID = TEST_CREDENTIALS.accountSID,
  authToken = TEST_CREDENTIALS.authToken,
  failNumbers = [],
} = {}) {
  const messages = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');

    const m = url.pathname.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/);
    if (m && req.method === 'POST') {
      const sid = decodeURIComponent(m[1]);
      const auth = req.headers.authorization ?? '';
      const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
      const i = decoded.indexOf(':');
      const [user, pass] = i < 0 ? [decoded, ''] : [decoded.slice(0, i), decoded.slice(i + 1)];
      if (user !== accountSID || pass !== authToken) return twilioError(res, 401, 20003, 'Authenticate');
      if (sid !== accountSID) return twilioError(res, 404, 20404, `The requested resource /2010-04-01/Accounts/${sid}/Messages.json was not found`);
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        return twilioError(res, 400, 21620, 'Invalid content type');
      }
      const form = new URLSearchParams(raw);
      const to = form.get('To');
      const body = form.get('Body');
      const messagingServiceSid = form.get('MessagingServiceSid');
      const riskCheck = form.get('RiskCheck');
      if (!to) return twilioError(res, 400, 21604, "A 'To' phone number is required.");
      if (!/^\+[1-9]\d{5,14}$/.test(to)) return twilioError(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
      if (!messagingServiceSid && !form.get('From')) {
        return twilioError(res, 400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message");
      }
      if (messagingServiceSid && !/^MG[0-9a-fA-F]{32}$/.test(messagingServiceSid)) {
        return twilioError(res, 400, 21701, `The Messaging Service Sid ${messagingServiceSid} is invalid.`);
      }
      if (!body) return twilioError(res, 400, 21602, 'Message body is required.');
      if (riskCheck != null && !['enable', 'disable'].includes(riskCheck)) {
        return twilioError(res, 400, 21205, `Invalid RiskCheck value: ${riskCheck}`);
      }
      if (failNumbers.includes(to)) return twilioError(res, 400, 21610, 'Attempt to send to unsubscribed recipient');
      const rec = {
        sid: `SM${crypto.randomBytes(16).toString('hex')}`,
        account_sid: sid,
        to,
        messaging_service_sid: messagingServiceSid,
        from: form.get('From'),
        body,
        code: body.match(/\b(\d{6})\b/)?.[1] ?? null,
        risk_check: riskCheck,
        date_created: new Date().toUTCString(),
      };
      messages.push(rec);
      return json(res, 201, {
        ...rec, code: undefined, api_version: '2010-04-01', direction: 'outbound-api', status: 'accepted',
        num_segments: '1', num_media: '0', error_code: null, error_message: null,
        uri: `/2010-04-01/Accounts/${sid}/Messages/${rec.sid}.json`,
      });
    }

    if (url.pathname === '/messages' && req.method === 'GET') {
      const to = queryPhone(url);
      return json(res, 200, to ? messages.filter((x) => x.to === to) : messages);
    }
    if (url.pathname === '/messages/last' && req.method === 'GET') {
      const to = queryPhone(url);
      const last = (to ? messages.filter((x) => x.to === to) : messages).at(-1);
      return last ? json(res, 200, last) : json(res, 404, { error: 'no message', to });
    }
    if (url.pathname === '/messages' && req.method === 'DELETE') {
      messages.length = 0;
      res.writeHead(204);
      return res.end();
    }
    return twilioError(res, 404, 20404, 'The requested resource was not found');
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      resolve({
        url: `http://127.0.0.1:${actual}`,
        port: actual,
        credentials: { ...TEST_CREDENTIALS, accountSID, authToken },
        messages,
        lastMessage: (to) => messages.filter((x) => !to || x.to === to).at(-1),
        close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const env = process.env;
  const standIn = await startTwilioStandIn({
    port: Number(env.TWILIO_STAND_IN_PORT ?? 0),
    accountSID: env.TWILIO_ACCOUNT_SID || TEST_CREDENTIALS.accountSID,
    authToken: env.TWILIO_AUTH_TOKEN || TEST_CREDENTIALS.authToken,
    failNumbers: (env.TWILIO_FAIL_NUMBERS ?? '').split(',').filter(Boolean),
  });
  process.stdout.write(`${JSON.stringify({ ready: true, twilio: standIn.url, port: standIn.port, accountSID: standIn.credentials.accountSID })}\n`);
  const stop = async () => { await standIn.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
