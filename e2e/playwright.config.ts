import { defineConfig } from '@playwright/test';

// Two instances of the portal, each with its bundled OpenID provider, on
// fixed loopback ports and a fresh data folder per run (see start-server.sh):
// "portal" with the default 15-minute reveal window for every spec but the
// window spec, and "short-window" with a 20-second window for the specs that
// wait for the window to end. The Taskfile builds ../bin/tokenservice first.
// E2E_PORT_BASE moves all four ports, so that two checkouts can run at once.
const base = Number(process.env.E2E_PORT_BASE ?? 18080);
const addr = (offset: number) => `127.0.0.1:${base + offset}`;
const MAIN = { portal: `http://${addr(0)}`, provider: `http://${addr(1)}` };
const SHORT = { portal: `http://${addr(10)}`, provider: `http://${addr(11)}` };

function server(addr: string, bccAddr: string, window: string) {
  return {
    command: `E2E_ADDR=${addr} E2E_BCC_ADDR=${bccAddr} E2E_REVEAL_WINDOW=${window} sh ./start-server.sh`,
    url: `http://${addr}/healthz`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
    gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 5_000 },
  };
}

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: 'list',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'portal', testIgnore: /window\.spec\.ts/, use: { baseURL: MAIN.portal }, metadata: { provider: MAIN.provider } },
    { name: 'short-window', testMatch: /window\.spec\.ts/, use: { baseURL: SHORT.portal }, metadata: { provider: SHORT.provider } },
  ],
  webServer: [
    server(addr(0), addr(1), '15m'),
    server(addr(10), addr(11), '20s'),
  ],
});
