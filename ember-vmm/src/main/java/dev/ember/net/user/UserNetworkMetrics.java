package dev.ember.net.user;

/**
 * A snapshot of one {@link UserNetwork}'s counters, all monotonic since construction except
 * the two flow gauges.
 *
 * @param framesIn          frames the guest transmitted and the stack accepted for processing
 * @param framesOut         frames the guest's device accepted
 * @param framesDropped     guest frames dropped as malformed, unsupported or unaddressed to the stack
 * @param fragmentsDropped  guest IPv4 fragments, which the stack does not reassemble
 * @param deliveryRefused   frames the guest's device refused because its receive ring was full
 * @param tcpFlows          TCP connections open now
 * @param udpFlows          UDP flows open now
 * @param flowsRefused      new TCP or UDP flows refused because the flow limit was reached
 * @param dnsQueries        DNS queries answered
 */
public record UserNetworkMetrics(long framesIn, long framesOut, long framesDropped, long fragmentsDropped,
                                 long deliveryRefused, int tcpFlows, int udpFlows, long flowsRefused,
                                 long dnsQueries) {
}
