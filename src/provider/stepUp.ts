/**
 * Step-up (RFC 9470): what a login asks of the provider beyond who you are, from the profile
 * (`acr_values`, `max_age`) or from `kms-agent login --acr --max-age`; the id_token is then held to
 * it (idTokenRules.ts).
 */
export interface StepUp {
  /** Authentication context classes, any one of which will do. */
  acrValues?: readonly string[] | undefined;
  /** Seconds since the user last authenticated at the provider, at most. */
  maxAge?: number | undefined;
}

/** The authorization (or device authorization) request's parameters for a step-up. */
export function stepUpParams(stepUp: StepUp): Record<string, string> {
  const params: Record<string, string> = {};
  if (stepUp.acrValues !== undefined) params.acr_values = stepUp.acrValues.join(' ');
  if (stepUp.maxAge !== undefined) params.max_age = String(stepUp.maxAge);
  return params;
}
