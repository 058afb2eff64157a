// The pages of the Device Authorization Grant (RFC 8628) at /oidc/device, in the same plain style as
// the phone pages. oidc-provider renders the forms (ids op.deviceInputForm / op.deviceConfirmForm, with
// their xsrf field); these sources only wrap them. After the confirmation the user signs in on the
// normal phone + SMS pages (/interaction/:uid), then lands on the success page.
//
//   GET  /oidc/device                    form#op.deviceInputForm: input[name=user_code]
//   GET  /oidc/device?user_code=…        (verification_uri_complete) auto-submits to the confirm page
//   POST /oidc/device                    form#op.deviceConfirmForm: "Continue", or "Cancel" (abort=yes:
//                                        the device gets access_denied)
//   … phone sign-in …                    p#device-success
// Errors are p.error[data-code]: device.code_not_found, device.code_expired, device.code_used,
// device.aborted, device.no_code, device.error.
import { errorBlock, esc, page } from './html.mjs';

function deviceError(err) {
  if (!err) return null;
  const byName = {
    NoCodeError: ['device.no_code', 'Enter the code shown on your device.'],
    NotFoundError: ['device.code_not_found', 'The code you entered is incorrect. Try again.'],
    ExpiredError: ['device.code_expired', 'The code has expired. Start again on your device.'],
    AlreadyUsedError: ['device.code_used', 'The code has already been used.'],
    AbortedError: ['device.aborted', 'The sign-in was cancelled. Your device was told so.'],
  };
  const [code, message] = byName[err.name] ?? ['device.error', 'There was an error processing your request.'];
  return { code, message };
}

export async function userCodeInputSource(ctx, form, _out, err) {
  ctx.body = page('Connect a device', `${errorBlock(deviceError(err))}
<p>Enter the code displayed on your device.</p>
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`);
}

export async function userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
  const name = client.clientName ?? client.clientId;
  ctx.body = page('Confirm device', `<p>Sign in to <strong id="device-client">${esc(name)}</strong> on the device showing
<code id="user-code">${esc(userCode)}</code>?</p>
<p class="note">If you did not start this on a device of yours, or the code differs, cancel.</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Cancel</button>`);
}

export async function successSource(ctx) {
  const name = ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;
  ctx.body = page('Device connected', `<p id="device-success">You are signed in${name ? ` to ${esc(name)}` : ''} on your device. You can close this page.</p>`);
}
