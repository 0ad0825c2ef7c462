import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fetches the access token of a WeChat app from gatehouse and prints it (JDK 11+, nothing else).
 *
 *   export GATEHOUSE_URL=http://localhost:4236
 *   export GATEHOUSE_TOKEN=$(npx gatehouse caller token --sub shop-backend --scope wechat.app.token)
 *   java Token.java shop
 */
public class Token {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java Token.java CODE_NAME");
            System.exit(2);
        }
        String url = System.getenv().getOrDefault("GATEHOUSE_URL", "http://localhost:4236") + "/";
        String body = "{\"interface\":{\"interfaceName\":\"wechat.app.token\",\"para\":{\"codeName\":" + quote(args[0]) + "}}}";
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + System.getenv("GATEHOUSE_TOKEN"))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        String answer = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).body();

        // The JDK has no JSON parser: use Jackson or Gson in real code. gatehouse answers compact
        // JSON, returnCode first; returnData is {"appId":…,"token":…,"expiresAt":…}.
        Matcher code = Pattern.compile("^\\{\"returnCode\":(-?\\d+)").matcher(answer);
        Matcher token = Pattern.compile("\"token\":\"([^\"\\\\]*)\"").matcher(answer);
        if (!code.find() || !code.group(1).equals("0") || !token.find()) {
            System.err.println("gatehouse refused: " + answer);
            System.exit(1);
        }
        System.out.println(token.group(1));
    }

    /** a JSON string (a codeName is letters, digits and _.:@- only; escaped all the same) */
    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
