// The GraphQL client of the page: same origin, the token in sessionStorage only (never in the URL).
const KEY = "pcs.token";

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Run a GraphQL document; resolves to its data, or throws ApiError (status 401: bad token). */
export async function gql(query, variables = {}) {
  const t = token.get();
  if (!t) throw new ApiError("no token", 401);
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${t}` },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (e) {
    throw new ApiError(`The server cannot be reached (${e.message}).`, 0);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok) {
    const msg = body && body.errors && body.errors[0] ? body.errors[0].message : `HTTP ${response.status}`;
    throw new ApiError(msg, response.status);
  }
  if (body.errors && body.errors.length) throw new ApiError(body.errors.map((e) => e.message).join("; "), 200);
  return body.data;
}
