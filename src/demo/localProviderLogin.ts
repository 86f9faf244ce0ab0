// Step-up on the dev login pages. oidc-provider's devInteractions finish a login with the account
// alone, so an id_token never carries an `acr`. When the provider supports acr values, this
// answers the login form itself, with the acr and amr a real login would report.
import type Provider from 'oidc-provider';
import type { ProviderContext } from 'oidc-provider';

export interface StepUpLogin {
  /** The acr values the provider supports. */
  acrValues: string[];
  /** The acr every login gets, whatever was asked; default as `chooseAcr` says. */
  loginAcr?: string | undefined;
}

const INTERACTION = /^\/interaction\/[^/]+$/;

/**
 * Answers a submitted login form (POST /interaction/UID with prompt=login) and returns true;
 * returns false for any other request, which the dev interactions then handle.
 */
export async function answerStepUpLogin(
  provider: Provider,
  ctx: ProviderContext,
  form: URLSearchParams,
  stepUp: StepUpLogin,
): Promise<boolean> {
  if (!INTERACTION.test(ctx.path) || form.get('prompt') !== 'login' || !form.get('login')) {
    return false;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name !== 'login') return false;
  const acr = stepUp.loginAcr ?? chooseAcr(details.params.acr_values, stepUp.acrValues);
  const result = { login: { accountId: form.get('login'), acr, amr: ['pwd'] } };
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.redirect(returnTo);
  ctx.status = 303;
  return true;
}

/** The first requested acr the provider supports (a step-up that succeeds), else its first. */
function chooseAcr(requested: unknown, supported: string[]): string | undefined {
  const asked = typeof requested === 'string' ? requested.split(' ') : [];
  return asked.find((value) => supported.includes(value)) ?? supported[0];
}
