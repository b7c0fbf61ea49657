// Sign-in with the Cognito user pool's public API (USER_PASSWORD_AUTH), no SDK.
// Tokens live in sessionStorage: they are gone when the tab closes.

const STORAGE_KEY = "imagePipeline.session";
// Refresh this long before the IdToken expires, so a request never leaves with a stale token.
const REFRESH_MARGIN_MS = 60_000;

export class AuthError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

const FRIENDLY = {
  NotAuthorizedException: "Incorrect username or password.",
  UserNotFoundException: "Incorrect username or password.",
  UserNotConfirmedException: "This account is not confirmed yet.",
  PasswordResetRequiredException: "This account needs a password reset; ask an administrator.",
  TooManyRequestsException: "Too many attempts. Wait a moment and try again.",
  LimitExceededException: "Too many attempts. Wait a moment and try again.",
};

function decodeJwt(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(payload), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

export class Auth {
  constructor({ region, userPoolClientId, cognitoEndpoint }) {
    this.clientId = userPoolClientId;
    this.endpoint = cognitoEndpoint || `https://cognito-idp.${region}.amazonaws.com/`;
    this.session = this.#load();
    this.refreshing = null;
  }

  get signedIn() {
    return Boolean(this.session?.idToken);
  }

  // A name to show: the e-mail when there is one, else the user name.
  get displayName() {
    const claims = decodeJwt(this.session?.idToken || "");
    return claims.email || claims["cognito:username"] || this.session?.username || "";
  }

  // Returns {challenge: "NEW_PASSWORD_REQUIRED", ...} when Cognito asks for a new password first.
  async signIn(username, password) {
    const answer = await this.#call("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: this.clientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    });
    return this.#handle(answer, username);
  }

  async completeNewPassword(challenge, newPassword) {
    const answer = await this.#call("RespondToAuthChallenge", {
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      ClientId: this.clientId,
      Session: challenge.session,
      ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: newPassword },
    });
    return this.#handle(answer, challenge.username);
  }

  // A valid IdToken for the Authorization header, refreshed when it is about to expire.
  async idToken() {
    if (!this.signedIn) throw new AuthError("Not signed in.", "NotSignedIn");
    if (Date.now() > this.session.expiresAt - REFRESH_MARGIN_MS) await this.refresh();
    return this.session.idToken;
  }

  async refresh() {
    if (!this.session?.refreshToken) {
      this.signOut();
      throw new AuthError("Your session has ended. Sign in again.", "SessionEnded");
    }
    // Concurrent callers share one refresh.
    this.refreshing ??= this.#call("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: this.clientId,
      AuthParameters: { REFRESH_TOKEN: this.session.refreshToken },
    })
      .then((answer) => this.#store(answer.AuthenticationResult, this.session.username))
      .catch((error) => {
        this.signOut();
        throw new AuthError("Your session has ended. Sign in again.", error.code || "SessionEnded");
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  signOut() {
    this.session = null;
    sessionStorage.removeItem(STORAGE_KEY);
  }

  #handle(answer, username) {
    if (answer.AuthenticationResult) {
      this.#store(answer.AuthenticationResult, username);
      return { signedIn: true };
    }
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      return { challenge: answer.ChallengeName, session: answer.Session, username };
    }
    throw new AuthError(`This sign-in needs a step the page does not support (${answer.ChallengeName}).`, answer.ChallengeName);
  }

  #store(result, username) {
    this.session = {
      username,
      idToken: result.IdToken,
      accessToken: result.AccessToken,
      // REFRESH_TOKEN_AUTH answers without a new refresh token: keep the one we have.
      refreshToken: result.RefreshToken || this.session?.refreshToken,
      expiresAt: Date.now() + (result.ExpiresIn || 3600) * 1000,
    };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.session));
  }

  #load() {
    try {
      const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      return session?.idToken ? session : null;
    } catch {
      return null;
    }
  }

  async #call(operation, body) {
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": `AWSCognitoIdentityProviderService.${operation}`,
        },
        body: JSON.stringify(body),
      });
    } catch {
      throw new AuthError("Cannot reach the sign-in service. Check your connection.", "NetworkError");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const code = String(answer.__type || "").split("#").pop();
      throw new AuthError(FRIENDLY[code] || answer.message || answer.Message || `Sign-in failed (${response.status}).`, code);
    }
    return answer;
  }
}
