#include "control/errors.hpp"

namespace sb::control::errc {

const std::vector<ErrorDoc>& controlErrors() {
  static const std::vector<ErrorDoc> docs{
      {badRequest, "The line is not a JSON object, or has no string `method`."},
      {lineTooLong, "The request line exceeded the line limit; it was discarded up to its newline."},
      {unknownMethod, "No method has that name."},
      {missingParam, "A required parameter is absent (or null); for agent methods, `userId` without a Client.login."},
      {invalidParams, "A parameter has the wrong type, an empty required string, or a value outside its allowed set; "
                      "or `params` is not an object."},
      {unknownParam, "The method declares no parameter of that name (a typo is refused rather than ignored)."},
      {userMismatch, "The connection is logged in as one agent and the request names another."},
      {agentNotFound, "No configured agent has that userId."},
      {sessionNotFound, "No session has that sessionId."},
      {notImplemented, "The method is declared and its parameters were valid, but its behaviour lands in a later "
                       "release."},
      {notSubscribed, "Client.resume on a connection that has no subscription yet."},
      {resumeUnavailable, "The history no longer holds every event from `fromSeq`, or `fromSeq` is not a seq of "
                          "this run of the daemon (a restart came between): re-read the state with Gateway.* "
                          "and carry on from the live stream."},
      {notPermitted, "Sent just before the daemon closes a connection whose peer uid is not allowed."},
      {tooManyClients, "Sent just before the daemon closes a connection over the client limit."},
      {shuttingDown, "The daemon is stopping and could not carry the request out."},
      {internalError, "A bug: the request failed inside the daemon (the log says why)."},
  };
  return docs;
}

}  // namespace sb::control::errc
