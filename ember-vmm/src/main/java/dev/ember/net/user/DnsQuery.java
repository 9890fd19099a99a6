package dev.ember.net.user;

import static dev.ember.net.user.Packets.put16;
import static dev.ember.net.user.Packets.put32;
import static dev.ember.net.user.Packets.u16;
import static dev.ember.net.user.Packets.u8;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;

/**
 * One DNS query the guest sent to the stack's DNS address, and the answers built for it
 * (RFC 1035 §4.1).
 *
 * <pre>
 *   header   id:16 | QR OPCODE:4 AA TC RD RA Z:3 RCODE:4 | QDCOUNT | ANCOUNT | NSCOUNT | ARCOUNT
 *   question QNAME (labels, or a pointer 11xxxxxx) | QTYPE:16 | QCLASS:16
 * </pre>
 *
 * <p>Only standard queries with exactly one question are resolved, as slirp's resolver does;
 * other opcodes get NOTIMP and other question counts FORMERR. The name is looked up with the
 * host's resolver on a worker thread; A and AAAA questions are answered with the addresses of
 * that family, any other type with an empty NOERROR answer, and an unknown name with NXDOMAIN.
 * Answers are capped to fit the 512-byte classic UDP limit, so TC is never needed.
 *
 * <p><b>Guest-controlled.</b> The whole message. Name parsing is bounded three ways: every
 * read is checked against the message length, each compression pointer must point strictly
 * before the previous pointer's target (so a chain cannot loop), at most {@link #MAX_POINTERS} are
 * followed, and the name may not pass {@link #MAX_NAME} bytes (RFC 1035 §2.3.4). Names with
 * bytes other than letters, digits, '-' and '_' are never given to the host resolver; they
 * get NXDOMAIN.
 *
 * @param id         the query's identifier, echoed in the answer
 * @param rd         the query's recursion-desired bit, echoed
 * @param name       the name, labels joined with '.', without the root's trailing dot
 * @param resolvable false if the name is not a host name the host resolver should see
 * @param qtype      the question's type
 * @param question   the question section, re-encoded without compression
 */
record DnsQuery(int id, boolean rd, String name, boolean resolvable, int qtype, byte[] question) {

    static final int PORT = 53;
    static final int HEADER = 12;
    static final int TYPE_A = 1, TYPE_AAAA = 28, CLASS_IN = 1;
    static final int RCODE_NOERROR = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2, RCODE_NXDOMAIN = 3, RCODE_NOTIMP = 4;
    static final int MAX_NAME = 255, MAX_POINTERS = 16, MAX_UDP = 512;
    static final int TTL_SECONDS = 60;

    private static final int FLAG_QR = 0x8000, FLAG_RD = 0x0100, FLAG_RA = 0x0080;

    /**
     * Parses a query, or builds the error answer for a query that cannot be resolved.
     *
     * @return a {@link DnsQuery}, a {@code byte[]} error answer, or {@code null} if the message
     *         should be dropped without an answer (shorter than a header, or itself a response)
     */
    static Object parse(byte[] m, int off, int len) {
        if (len < HEADER) {
            return null;
        }
        int id = u16(m, off);
        int flags = u16(m, off + 2);
        if ((flags & FLAG_QR) != 0) {
            return null;
        }
        boolean rd = (flags & FLAG_RD) != 0;
        if ((flags >>> 11 & 0xF) != 0) {
            return header(id, rd, RCODE_NOTIMP, 0, 0);
        }
        if (u16(m, off + 4) != 1) {
            return header(id, rd, RCODE_FORMERR, 0, 0);
        }
        StringBuilder name = new StringBuilder();
        byte[] encoded = new byte[MAX_NAME + 1 + 4];
        int encodedLength = 0;
        boolean resolvable = true;
        int end = off + len;
        int p = off + HEADER;
        int after = -1;           // where the question continues after the first pointer
        int pointers = 0;
        int limit = p;            // pointers must go strictly below every earlier jump target
        while (true) {
            if (p >= end) {
                return header(id, rd, RCODE_FORMERR, 0, 0);
            }
            int b = u8(m, p);
            if ((b & 0xC0) == 0xC0) {
                if (p + 1 >= end || ++pointers > MAX_POINTERS) {
                    return header(id, rd, RCODE_FORMERR, 0, 0);
                }
                int target = off + ((b & 0x3F) << 8 | u8(m, p + 1));
                if (target >= limit) {
                    return header(id, rd, RCODE_FORMERR, 0, 0);
                }
                if (after < 0) {
                    after = p + 2;
                }
                p = target;
                limit = target;
                continue;
            }
            if ((b & 0xC0) != 0) {
                return header(id, rd, RCODE_FORMERR, 0, 0);
            }
            if (b == 0) {
                encoded[encodedLength++] = 0;
                p++;
                break;
            }
            if (p + 1 + b > end || encodedLength + 1 + b + 1 > MAX_NAME) {
                return header(id, rd, RCODE_FORMERR, 0, 0);
            }
            encoded[encodedLength++] = (byte) b;
            if (!name.isEmpty()) {
                name.append('.');
            }
            for (int i = 0; i < b; i++) {
                int c = u8(m, p + 1 + i);
                encoded[encodedLength++] = (byte) c;
                boolean hostChar = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                        || c == '-' || c == '_';
                resolvable &= hostChar;
                name.append(hostChar ? (char) c : '?');
            }
            p += 1 + b;
        }
        if (after >= 0) {
            p = after;
        }
        if (p + 4 > end) {
            return header(id, rd, RCODE_FORMERR, 0, 0);
        }
        int qtype = u16(m, p);
        int qclass = u16(m, p + 2);
        System.arraycopy(m, p, encoded, encodedLength, 4);
        byte[] question = Arrays.copyOf(encoded, encodedLength + 4);
        if (qclass != CLASS_IN) {
            return answer(id, rd, RCODE_NOTIMP, question, 0, TYPE_A, new byte[0][]);
        }
        return new DnsQuery(id, rd, name.toString(), resolvable && !name.isEmpty(), qtype, question);
    }

    /**
     * Builds the answer from what the host resolver returned.
     *
     * @param addresses the resolver's addresses, or {@code null} if the name is unknown
     */
    byte[] answer(InetAddress[] addresses) {
        if (addresses == null) {
            return answer(id, rd, RCODE_NXDOMAIN, question, 0, qtype, new byte[0][]);
        }
        int room = (MAX_UDP - HEADER - question.length);
        byte[][] rdata = Arrays.stream(addresses)
                .filter(a -> qtype == TYPE_A ? a instanceof Inet4Address : qtype == TYPE_AAAA && a instanceof Inet6Address)
                .map(InetAddress::getAddress)
                .distinct()
                .limit(room / (12 + 16))
                .toArray(byte[][]::new);
        return answer(id, rd, RCODE_NOERROR, question, rdata.length, qtype, rdata);
    }

    /** {@return a SERVFAIL answer, for a query the stack could not hand to a resolver} */
    byte[] serverFailure() {
        return answer(id, rd, RCODE_SERVFAIL, question, 0, qtype, new byte[0][]);
    }

    private static byte[] header(int id, boolean rd, int rcode, int qdcount, int ancount) {
        byte[] r = new byte[HEADER];
        put16(r, 0, id);
        put16(r, 2, FLAG_QR | (rd ? FLAG_RD : 0) | FLAG_RA | rcode);
        put16(r, 4, qdcount);
        put16(r, 6, ancount);
        return r;
    }

    private static byte[] answer(int id, boolean rd, int rcode, byte[] question, int count, int type, byte[][] rdata) {
        int length = HEADER + question.length;
        for (int i = 0; i < count; i++) {
            length += 12 + rdata[i].length;
        }
        byte[] r = Arrays.copyOf(header(id, rd, rcode, 1, count), length);
        System.arraycopy(question, 0, r, HEADER, question.length);
        int p = HEADER + question.length;
        for (int i = 0; i < count; i++) {
            put16(r, p, 0xC000 | HEADER);
            put16(r, p + 2, type);
            put16(r, p + 4, CLASS_IN);
            put32(r, p + 6, TTL_SECONDS);
            put16(r, p + 10, rdata[i].length);
            System.arraycopy(rdata[i], 0, r, p + 12, rdata[i].length);
            p += 12 + rdata[i].length;
        }
        return r;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DnsQuery q && q.id == id && q.rd == rd && q.name.equals(name)
                && q.resolvable == resolvable && q.qtype == qtype && Arrays.equals(q.question, question);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * id + name.hashCode()) + Arrays.hashCode(question);
    }

    @Override
    public String toString() {
        return "DnsQuery[id=" + id + ", name=" + name + ", qtype=" + qtype + "]";
    }
}
