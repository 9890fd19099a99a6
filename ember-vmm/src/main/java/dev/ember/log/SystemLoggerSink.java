package dev.ember.log;

/**
 * {@link LogSink#systemLogger()}: each event to the {@link System.Logger} of its reporting class,
 * looked up per event (the JDK caches loggers, and an application may configure them late).
 */
final class SystemLoggerSink implements LogSink {

    @Override
    public void log(LogEvent event) {
        System.Logger logger = System.getLogger(event.logger());
        System.Logger.Level level = jdkLevel(event.level());
        if (event.cause() == null) {
            logger.log(level, event.message());
        } else {
            logger.log(level, event.message(), event.cause());
        }
    }

    @Override
    public boolean isEnabled(Level level) {
        return true;
    }

    static System.Logger.Level jdkLevel(Level level) {
        return switch (level) {
            case ERROR -> System.Logger.Level.ERROR;
            case WARN -> System.Logger.Level.WARNING;
            case INFO -> System.Logger.Level.INFO;
            case DEBUG -> System.Logger.Level.DEBUG;
            case TRACE -> System.Logger.Level.TRACE;
        };
    }
}
