// The console's end-to-end smoke test: a real headless Chromium drives the built app,
// served by a real control plane, through the pages a PM or operator uses. It throws (exit
// code 1) at the first step that does not happen; the Rust test that starts the control
// plane (tests/tests/console/browser.rs) seeds the data and checks what the clicks wrote.
//
// Environment (all required but the last):
//   VARY_E2E_URL         the control plane, e.g. http://127.0.0.1:40123
//   VARY_E2E_TOKEN       an admin API token; VARY_E2E_PRINCIPAL its principal
//   VARY_E2E_EXPERIMENT  a RUNNING experiment with exposures and outcomes
//   VARY_E2E_SCREENSHOTS a directory for PNGs of the pages seen (optional)
//   CHROMIUM             the browser (default /usr/bin/chromium)
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const url = env("VARY_E2E_URL");
const token = env("VARY_E2E_TOKEN");
const principal = env("VARY_E2E_PRINCIPAL");
const experiment = env("VARY_E2E_EXPERIMENT");
const screenshots = process.env.VARY_E2E_SCREENSHOTS;
const timeout = 15_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // Without the networking flags Chromium keeps trying to reach Google's hosts, which
  // this sandbox refuses; --no-sandbox because CI runs as root.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const step = (text) => console.log(`smoke: ${text}`);
const shoot = async (page, name) => {
  if (!screenshots) return;
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
};

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(timeout);
  const consoleErrors = [];
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  // The control plane sends a Content-Security-Policy; anything the app does that it
  // blocks is reported here, and would be broken for users.
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      consoleErrors.push(message.text());
    }
  });

  step("an unknown token is refused");
  await page.goto(`${url}/console/`);
  await page.getByTestId("signin-token").fill("vary_not-a-real-token");
  await page.getByTestId("signin-submit").click();
  const refusal = await page.getByTestId("signin-error").innerText();
  if (!/not accepted/i.test(refusal)) throw new Error(`sign-in error says ${JSON.stringify(refusal)}`);

  step("the admin token signs in and the header names its principal");
  await page.getByTestId("signin-token").fill(token);
  await page.getByTestId("signin-submit").click();
  await expectText(page.getByTestId("principal"), principal);

  step("the experiment is listed");
  const row = page.locator(`[data-testid="experiment-row"][data-key="${experiment}"]`);
  await row.waitFor();
  await shoot(page, "experiments");
  await row.getByRole("link").first().click();

  step("its detail shows it running, with its versions");
  await expectText(page.getByTestId("experiment-status"), /running/i);
  await page.getByTestId("version-row").first().waitFor();

  step("its results: split check passed, a units chart and a forest plot per metric");
  await page.getByTestId("results-link").click();
  const srm = page.getByTestId("srm-badge");
  await srm.waitFor();
  const mismatch = await srm.getAttribute("data-mismatch");
  if (mismatch !== "false") throw new Error(`SRM badge says data-mismatch=${mismatch}`);
  const bars = await page.locator(`[data-testid="units-chart"] rect.bar`).count();
  if (bars < 2) throw new Error(`units chart has ${bars} bars`);
  const metrics = await page.getByTestId("metric-section").count();
  const plots = await page.getByTestId("forest-plot").count();
  if (metrics === 0 || plots !== metrics) {
    throw new Error(`${metrics} metric sections but ${plots} forest plots`);
  }
  await shoot(page, "results");

  step("pausing it from the detail page");
  await page.goBack();
  await page.getByTestId("lifecycle-pause").click();
  await page.getByTestId("lifecycle-note").fill("paused from the console smoke test");
  await page.getByTestId("lifecycle-confirm").click();
  await expectText(page.getByTestId("experiment-status"), /paused/i);

  step("the audit log shows the pause");
  await page.getByTestId("nav-audit").click();
  await page.getByTestId("audit-row").first().waitFor();
  const actions = await page.getByTestId("audit-row").allInnerTexts();
  if (!actions.some((text) => text.includes(experiment) && /pause/i.test(text))) {
    throw new Error(`no audit row pauses ${experiment}: ${JSON.stringify(actions.slice(0, 5))}`);
  }
  await shoot(page, "audit");

  if (consoleErrors.length > 0) {
    throw new Error(`page errors or blocked content: ${consoleErrors.join("; ")}`);
  }
  step("ok");
} finally {
  await browser.close();
}

/**
 * Waits until `locator` shows `expected` (a string must be the whole text): Playwright
 * re-checks on every DOM change, up to the page's default timeout.
 */
async function expectText(locator, expected) {
  const pattern =
    typeof expected === "string"
      ? new RegExp(`^\\s*${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`)
      : expected;
  try {
    await locator.filter({ hasText: pattern }).waitFor();
  } catch {
    const seen = await locator.innerText().catch(() => "");
    throw new Error(`expected ${pattern} but the page shows ${JSON.stringify(seen.trim())}`);
  }
}
