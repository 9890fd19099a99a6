package dev.ember.mmds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.config.MmdsConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MmdsTest {

    @Test
    void getBeforePutIsEmptyObject() {
        assertEquals("{}", new Mmds().get());
    }

    @Test
    void putReplacesAndSortsKeysAsSerde() {
        Mmds m = new Mmds();
        m.put("{\"b\":1,\"a\":{\"y\":\"2\",\"x\":\"1\"}}");
        m.put("{\"name\":{\"first\":\"John\",\"second\":\"Doe\"},\"age\":43}");
        assertEquals("{\"age\":43,\"name\":{\"first\":\"John\",\"second\":\"Doe\"}}", m.get());
    }

    @Test
    void patchIsRfc7396MergeAsFirecracker() {
        Mmds m = new Mmds();
        m.put("""
                {"name":{"first":"John","second":"Doe"},"age":"43",
                 "phones":{"home":{"RO":"+40 1234567","UK":"+44 1234567"},"mobile":"+44 2345678"}}""");
        m.patch("""
                {"name":{"second":null,"last":"Kennedy"},"age":"44",
                 "phones":{"home":"+44 1234567","mobile":{"RO":"+40 2345678","UK":"+44 2345678"}}}""");
        assertEquals("{\"age\":\"44\",\"name\":{\"first\":\"John\",\"last\":\"Kennedy\"},"
                + "\"phones\":{\"home\":\"+44 1234567\",\"mobile\":{\"RO\":\"+40 2345678\",\"UK\":\"+44 2345678\"}}}",
                m.get());
    }

    @Test
    void patchWithNonObjectReplacesDocument() {
        Mmds m = new Mmds();
        m.put("{\"a\":1}");
        m.patch("[1,2]");
        assertEquals("[1,2]", m.get());
    }

    @Test
    void patchDropsNullsInsideNewObjects() {
        Mmds m = new Mmds();
        m.put("{}");
        m.patch("{\"a\":{\"b\":null,\"c\":\"d\"}}");
        assertEquals("{\"a\":{\"c\":\"d\"}}", m.get());
    }

    @Test
    void patchBeforePutIsRefusedWithFirecrackerText() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new Mmds().patch("{}"));
        assertEquals("The MMDS data store is not initialized.", e.getMessage());
    }

    @Test
    void defaultLimitIsFirecrackers51200Bytes() {
        assertEquals(51_200, new Mmds().dataStoreLimit());
    }

    @Test
    void putOverLimitIsRefusedAndKeepsDocument() {
        Mmds m = new Mmds(20);
        m.put("{\"a\":\"0123456789\"}");          // 18 bytes
        MmdsLimitExceededException e = assertThrows(MmdsLimitExceededException.class,
                () -> m.put("{\"a\":\"0123456789ABC\"}"));   // 21 bytes
        assertEquals("The MMDS patch request doesn't fit.", e.getMessage());
        assertEquals("{\"a\":\"0123456789\"}", m.get());
    }

    @Test
    void putAtExactlyLimitIsAccepted() {
        Mmds m = new Mmds(18);
        m.put("{ \"a\" : \"0123456789\" }");        // compact form is 18 bytes
        assertEquals("{\"a\":\"0123456789\"}", m.get());
    }

    @Test
    void patchOverLimitIsRefusedAndKeepsDocument() {
        Mmds m = new Mmds(30);
        m.put("{\"a\":\"1\"}");
        MmdsLimitExceededException e = assertThrows(MmdsLimitExceededException.class,
                () -> m.patch("{\"b\":\"0123456789012345678901234\"}"));
        assertEquals("The MMDS patch request doesn't fit.", e.getMessage());
        assertEquals("{\"a\":\"1\"}", m.get());
    }

    @Test
    void invalidJsonIsIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> new Mmds().put("{\"a\":"));
        assertThrows(IllegalArgumentException.class, () -> new Mmds().put(""));
    }

    @Test
    void configureSetsVersion() {
        Mmds m = new Mmds();
        assertEquals(MmdsVersion.V1, m.version());
        m.configure(new MmdsConfig("V2", List.of("eth0"), null));
        assertEquals(MmdsVersion.V2, m.version());
    }

    @Test
    void lookupFormatsAsFirecrackerGetValue() {
        Mmds m = new Mmds();
        m.put("""
                {"name":{"first":"John","second":"Doe"},"age":43,"phones":["+401234567","+441234567"],
                 "member":false,"shares_percentage":12.12,"balance":-24}""");
        assertEquals(new Mmds.Lookup.Found("{\"first\":\"John\",\"second\":\"Doe\"}"), m.lookup("/name", true));
        assertEquals(new Mmds.Lookup.Found("first\nsecond"), m.lookup("/name", false));
        assertEquals(new Mmds.Lookup.Found("43"), m.lookup("/age", true));
        assertEquals(new Mmds.Lookup.Unsupported(), m.lookup("/age", false));
        assertEquals(new Mmds.Lookup.Found("[\"+401234567\",\"+441234567\"]"), m.lookup("/phones/", true));
        assertEquals(new Mmds.Lookup.Found("+401234567"), m.lookup("/phones/0/", false));
        assertEquals(new Mmds.Lookup.Found("12.12"), m.lookup("/shares_percentage", true));
        assertEquals(new Mmds.Lookup.Found("-24"), m.lookup("/balance", true));
        assertEquals(new Mmds.Lookup.NotFound(), m.lookup("/invalid_path", true));
        assertEquals(new Mmds.Lookup.NotFound(), m.lookup("/name/~2", true));
    }

    @Test
    void imdsListsSubObjectsWithSlash() {
        Mmds m = new Mmds();
        m.put("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"reservation-id\":\"r-1\",\"network\":{}}}}");
        assertEquals(new Mmds.Lookup.Found("ami-id\nnetwork/\nreservation-id"),
                m.lookup("/latest/meta-data", false));
        assertEquals(new Mmds.Lookup.Found("latest/"), m.lookup("/", false));
    }

    @Test
    void tokenIsValidUntilTtlPasses() {
        AtomicLong now = new AtomicLong(1_000);
        Mmds m = new Mmds(Mmds.DEFAULT_DATA_STORE_LIMIT, now::get);
        String token = m.generateToken(1);
        assertTrue(m.isValidToken(token));
        now.addAndGet(999);
        assertTrue(m.isValidToken(token));
        now.addAndGet(1);
        assertEquals(false, m.isValidToken(token));
    }

    @Test
    void tamperedOrForeignTokensAreInvalid() {
        Mmds m = new Mmds();
        String token = m.generateToken(60);
        char[] c = token.toCharArray();
        c[20] = c[20] == 'A' ? 'B' : 'A';
        assertEquals(false, m.isValidToken(new String(c)));
        assertEquals(false, new Mmds().isValidToken(token));
        assertEquals(false, m.isValidToken("a".repeat(58)));
        assertEquals(false, m.isValidToken("not base64 !"));
        assertEquals(false, m.isValidToken("a".repeat(71)));
        m.setInstanceId("vm-1");
        assertEquals(false, m.isValidToken(token));
    }

    @Test
    void ttlOutOfBoundsHasFirecrackerText() {
        Mmds m = new Mmds();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.generateToken(0));
        assertEquals("Invalid time to live value provided for token: 0. Please provide a value between 1 and 21600.",
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.generateToken(21_601));
        m.generateToken(21_600);
    }

    @Test
    void readersSeeWholeDocumentsWhileWriterPatches() throws Exception {
        Mmds m = new Mmds();
        m.put("{\"a\":\"0\",\"b\":\"0\"}");
        List<String> bad = new ArrayList<>();
        Thread reader = new Thread(() -> {
            for (int i = 0; i < 20_000; i++) {
                Mmds.Lookup l = m.lookup("/", true);
                String s = ((Mmds.Lookup.Found) l).body();
                String a = s.substring(6, s.indexOf('"', 6)), b = s.substring(s.lastIndexOf(':') + 2, s.length() - 2);
                if (!a.equals(b)) {
                    synchronized (bad) {
                        bad.add(s);
                    }
                }
            }
        });
        reader.start();
        for (int i = 1; i < 2_000; i++) {
            m.patch("{\"a\":\"" + i + "\",\"b\":\"" + i + "\"}");
        }
        reader.join(30_000);
        assertEquals(List.of(), bad);
    }
}
