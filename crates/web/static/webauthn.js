// Palisade console: WebAuthn ceremonies for the security-key pages.
//
// A form marked data-webauthn="register" or "authenticate" is posted (with
// its CSRF token) to its action, which answers with the options for
// navigator.credentials.create/get as JSON (binary fields base64url). The
// browser's answer goes, base64url-encoded, to the form's data-finish URL
// as the `credential` field; the server answers {"redirect": URL} or
// {"error": message}. Served as a same-origin file: the console's CSP
// allows no inline script. No build step, no dependency.
(function () {
  'use strict';

  function toBytes(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); }).buffer;
  }

  function toText(buffer) {
    let binary = '';
    new Uint8Array(buffer).forEach(function (b) { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  async function post(url, fields) {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      body: new URLSearchParams(fields),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (_) {
      data = {};
    }
    if (!response.ok) {
      throw new Error(data.error || 'The console refused the request (HTTP ' + response.status + ').');
    }
    return data;
  }

  async function register(form, fields) {
    const options = (await post(form.action, fields)).publicKey;
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    const credential = await navigator.credentials.create({ publicKey: options });
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toText(credential.response.attestationObject),
        clientDataJSON: toText(credential.response.clientDataJSON),
      },
    };
  }

  async function authenticate(form, fields) {
    const options = (await post(form.action, fields)).publicKey;
    options.challenge = toBytes(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    const credential = await navigator.credentials.get({ publicKey: options });
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toText(response.authenticatorData),
        clientDataJSON: toText(response.clientDataJSON),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null,
      },
    };
  }

  function explain(error) {
    if (error && error.name === 'NotAllowedError') {
      return 'The key did not answer (cancelled or timed out). Try again.';
    }
    if (error && error.name === 'InvalidStateError') {
      return 'This key is already registered.';
    }
    if (error && error.name === 'SecurityError') {
      return 'The browser refused: open the console at the address shown above.';
    }
    return (error && error.message) || 'Something went wrong.';
  }

  document.querySelectorAll('form[data-webauthn]').forEach(function (form) {
    const status = form.querySelector('[data-webauthn-status]');
    const button = form.querySelector('button');
    const say = function (text) { if (status) status.textContent = text; };
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say('This browser does not support security keys.');
      if (button) button.disabled = true;
      return;
    }
    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      const fields = Object.fromEntries(new FormData(form));
      if (button) button.disabled = true;
      say('Waiting for your security key\u2026');
      try {
        const ceremony = form.dataset.webauthn === 'register' ? register : authenticate;
        const credential = await ceremony(form, fields);
        say('Checking\u2026');
        const done = await post(form.dataset.finish, {
          csrf: fields.csrf,
          credential: JSON.stringify(credential),
        });
        window.location.assign(done.redirect || '/');
      } catch (error) {
        say(explain(error));
        if (button) button.disabled = false;
      }
    });
  });
})();
