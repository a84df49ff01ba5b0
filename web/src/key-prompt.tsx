// Asked when the API answers 401: the key is kept in sessionStorage (this tab, this session).
import { useEffect, useRef, useState } from 'preact/hooks';
import { apiKey, saveKey } from './api.ts';

export function KeyPrompt({ onSaved }: { onSaved: () => void }) {
  const [key, setKey] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const refused = apiKey.value !== null;
  return (
    <section class="card key-prompt" aria-labelledby="key-heading">
      <h1 id="key-heading">API key needed</h1>
      <p>
        This server requires an API key. The console keeps it for this browser tab only (session storage) and sends it
        with each request, so it shows exactly what that key may see.
      </p>
      {refused && (
        <p class="error" role="alert">
          The server refused the key given. Try another one.
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!key.trim()) return;
          saveKey(key.trim());
          onSaved();
        }}
      >
        <label for="api-key">API key</label>
        <div class="row">
          <input
            id="api-key"
            ref={input}
            type="password"
            autocomplete="off"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            required
          />
          <button type="submit">Use this key</button>
        </div>
      </form>
    </section>
  );
}
