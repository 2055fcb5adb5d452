/**
 * minikube profile names become directory names under MINIPATH/profiles and
 * kube context names, so anything that could walk out of that directory is refused.
 * minikube itself allows letters, digits, '-', '_' and '.', starting with an alphanumeric.
 */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class InvalidProfileNameError extends Error {
  constructor(readonly input: string) {
    super(
      `invalid profile name ${JSON.stringify(input)}: use letters, digits, '.', '_' or '-' (no slashes or '..'), at most 63 characters`,
    );
    this.name = "InvalidProfileNameError";
  }
}

export function isValidProfileName(name: string): boolean {
  return PROFILE_NAME.test(name) && !name.includes("..");
}

export function assertProfileName(name: string): string {
  if (!isValidProfileName(name)) throw new InvalidProfileNameError(name);
  return name;
}
